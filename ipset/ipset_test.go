package ipset

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func fixedClock(ns *int64) func() int64 { return func() int64 { return *ns } }

func TestTimeoutAndNomatch(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	for _, l := range []string{
		"create n hash:net timeout 10 initval 0x1", "add n 10.0.0.0/8", "add n 10.1.0.0/16 nomatch timeout 0",
		"create i hash:ip netmask 24 initval 0x2", "add i 192.168.1.77",
	} {
		c, err := ParseCommand(splitOK(t, l))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Exec(c, &out); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	n, i := r.Get("n"), r.Get("i")
	if !n.Test(0x0a020304) || n.Test(0x0a010203) || n.Test(0x0b000001) {
		t.Fatal("hash:net longest-prefix/nomatch")
	}
	if !i.Test(0xc0a801fe) || i.Test(0xc0a802fe) {
		t.Fatal("hash:ip netmask")
	}
	now += 11e9
	if n.Test(0x0a020304) || n.Len() != 1 {
		t.Fatal("timeout did not expire")
	}
	if err := r.Destroy("n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Ref("i"); err != nil {
		t.Fatal(err)
	}
	if err := r.Destroy("i"); err == nil || err.Error() != "Set cannot be destroyed: it is in use by a kernel component" {
		t.Fatal("destroyed a referenced set:", err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	r.Restore("create a hash:ip timeout 100 comment counters initval 0x3\n", false, &out)
	for k := 0; k < 500; k++ {
		r.Restore(fmt.Sprintf("add a 10.0.%d.%d comment \"c %d\"\n", k/200, k%200, k), false, &out)
	}
	for k := 0; k < 500; k += 7 {
		r.Restore(fmt.Sprintf("del a 10.0.%d.%d\n", k/200, k%200), false, &out)
	}
	var want, got strings.Builder
	r.Get("a").WriteList(&want, ListFlags{}, true)
	r2 := NewRegistry()
	r2.Clock = r.Clock
	if err := r2.LoadState(r.WriteState()); err != nil {
		t.Fatal(err)
	}
	r2.Get("a").WriteList(&got, ListFlags{}, true)
	if got.String() != want.String() {
		t.Fatalf("state round trip differs:\n%s\n---\n%s", got.String()[:300], want.String()[:300])
	}
}

// forceadd is not in the header the state file's create line is made of:
// it must survive the round trip all the same.
func TestStateForceAdd(t *testing.T) {
	r := NewRegistry()
	var out strings.Builder
	if _, err := r.Restore("create a hash:ip maxelem 4 forceadd\ncreate b bitmap:ip range 10.0.0.0/30\n", false, &out); err != nil {
		t.Fatal(err)
	}
	r2 := NewRegistry()
	if err := r2.LoadState(r.WriteState()); err != nil {
		t.Fatal(err)
	}
	if !r2.Get("a").Opts.ForceAdd || r2.Get("b").Opts.ForceAdd {
		t.Fatalf("forceadd after the round trip: a %v, b %v", r2.Get("a").Opts.ForceAdd, r2.Get("b").Opts.ForceAdd)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add("create a hash:net\nadd a 1.2.3.0/24\ndel a 1.2.3.0/24\nlist\n")
	f.Add("create b hash:ip timeout 5 counters comment netmask 24\nadd b 1.2.3.4-1.2.3.9 comment \"x y\" packets 3\ntest b 1.2.3.4\nsave\n")
	f.Add("create c hash:net hashsize 64 bucketsize 2 maxelem 3 forceadd\nadd c 9.0.0.0-9.0.3.7 nomatch\nswap c c\nrename c d\nflush\ndestroy\n")
	f.Add("create p hash:ip,port timeout 9 counters\nadd p 1.2.3.4,udp:5-9\nadd p 1.2.3.0/30,icmp:ping\ndel p 1.2.3.4,udp:6\n")
	f.Add("create q hash:net,port comment\nadd q 9.0.0.0-9.0.3.7,sctp:1 nomatch comment x\ntest q 9.0.0.1,sctp:1\n")
	f.Add("create b bitmap:port range 9-1 timeout 4 counters comment skbinfo\nadd b 2-5 packets 4\ndel b 3\n")
	f.Add("create i bitmap:ip range 10.0.0.0/16 netmask 24 timeout 4 counters comment\nadd i 10.0.1.0-10.0.3.9 packets 4\ndel i 10.0.2.7\ntest i 10.0.3.1\n")
	f.Add("create j ipmap from 10.0.0.9 to 10.0.0.1\nadd j 10.0.0.2/31\nadd j 10.0.0.3,1\nswap j j\n")
	f.Add("create k bitmap:ip network 1.2.3.0/28 network 1.2.3.0/29\ncreate k bitmap:ip range 0.0.0.0/0 netmask 16\nadd k 1.2.3.4\nadd k 1.2.3.5\nadd k 1.2.3.4 foo\ncreate m hash:mac\n")
	f.Add("create t hash:ip,port,ip timeout 9 counters comment\nadd t 1.2.3.4/30,udp:5-9,5.6.7.8 comment x packets 2\ndel t 1.2.3.5,udp:6,5.6.7.8\ntest t 1.2.3.4,udp:5,5.6.7.8\nadd t 1.2.3.4,80,5.6.7.8/32\nadd t 1.2.3.4,80,5.6.7.8,9\n")
	f.Add("create f hash:ip,port hashsize 64 maxelem 2 forceadd\nadd f 1.2.3.4,5\nadd f 1.2.3.5,5\nadd f 1.2.3.6,5\nlist\n")
	f.Add("create u hash:ip,port,net hashsize 64 bucketsize 2 maxelem 30\nadd u 1.2.3.4,sctp:1-3,9.0.0.0-9.0.3.7 nomatch\ntest u 1.2.3.4,sctp:1,9.0.0.1 nomatch\nadd u 1.2.3.4,80,0.0.0.0/1\nadd u 1.2.3.4,icmp:ping,9.9.9.9/0\nswap u u\nlist -s\n")
	f.Add("create v ipportnethash timeout 5 comment\nadd v 1.2.3.0/31,tcp:1,2.0.0.0/8 comment \"a b\"\ncreate w ipportiphash\nswap v w\ndel v 1.2.3.1,tcp:1,2.0.0.0/8\n")
	f.Add("create a hash:ip\ncreate b bitmap:port range 1-9\ncreate l list:set size 4 timeout 9 counters comment\nadd l a comment x\nadd l b before a packets 3\nadd l a,after,b -exist\ntest l b before a\ndel l a after b\ndestroy a\nflush l\ndestroy a\nswap l l\n")
	f.Add("create l setlist\ncreate m list:set\nadd l m\nadd l x\ncreate x hash:net\nadd m x\nrename x y\ndestroy\nflush\ndestroy m\nlist\n")
	f.Add("create m bitmap:ip,mac range 10.0.0.0/28 timeout 5 counters comment\nadd m 10.0.0.1\nadd m 10.0.0.1\nadd m 10.0.0.2,0:1:2:3:4:5 comment x\nadd m 10.0.0.1,aa:bb:cc:dd:ee:ff timeout 0\nadd m 10.0.0.3 timeout 7\ndel m 10.0.0.3\ntest m 10.0.0.2,00:01:02:03:04:05\nadd m 10.0.0.4,1:2\n")
	f.Add("create n macipmap from 10.0.0.9 to 10.0.0.1\nadd n 10.0.0.2,1:1:1:1:1:1\nadd n 10.0.0.2,2:2:2:2:2:2 -exist\ncreate l list:set\nadd l n\nswap n n\n")
	f.Add("create s hash:ip skbinfo\nadd s 1.2.3.4 skbmark 0x1/0xf skbprio 1:2 skbqueue 3\nadd s 1.2.3.5 skbmark 0x-5zz\nlist -o xml\n")
	f.Add("create i hash:net,iface counters\nadd i 10.0.0.0/24,eth0\nadd i 10.0.0.0/24,eth wildcard\nadd i 0.0.0.0/0,physdev:br0 nomatch\nadd i 10.1.0.1-10.1.0.9,x\ntest i 10.0.0.1,eth0\ndel i 10.0.0.0/24,eth7\nsave\n")
	f.Add("create m hash:mac timeout 5\nadd m 1:2:3:4:5:6\nadd m 0:0:0:0:0:0\ntest m 01:02:03:04:05:06\nlist -o xml\n")
	f.Add("create a hash:ip family inet6 netmask 64\nadd a 2001:db8::1\nadd a ::\ncreate n hash:net family inet6\nadd n 2001:db8::/32 nomatch\nadd n ::1.2.3.4/128\ntest n 2001:db8::1\ncreate p hash:ip,port,net family inet6\nadd p 2001::1,icmpv6:ping,2001::/64\nlist\n")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		r := NewRegistry()
		r.Clock = func() int64 { return 1e18 }
		var out strings.Builder
		if fuzzTooBig(text) {
			return
		}
		r.Restore(text, false, &out)
		st := r.WriteState()
		r2 := NewRegistry()
		r2.Clock = r.Clock
		if err := r2.LoadState(st); err != nil {
			t.Fatalf("state does not reload: %v\n%s", err, st)
		}
		if st2 := r2.WriteState(); st2 != st {
			t.Fatalf("state not stable:\n%s\n---\n%s", st, st2)
		}
	})
}

// fuzzTooBig tells the inputs that ask for gigabytes or minutes, as they
// would of the kernel: a hash table of up to 2^27 buckets (1 GiB), a
// maxelem of up to 2^32 filled by one range, or a forceadd hash:ip* set
// whose range add never fails and walks up to 2^31 addresses.
func fuzzTooBig(text string) bool {
	w := strings.Fields(text)
	for i := 0; i+1 < len(w); i++ {
		switch w[i] {
		case "hashsize", "maxelem", "size", "-hashsize", "-maxelem", "--hashsize", "--maxelem":
			if n, err := strconv.ParseUint(w[i+1], 0, 64); err != nil || n > 1<<16 {
				return true
			}
		}
	}
	if strings.Contains(text, "forceadd") && strings.Contains(text, "hash:ip") {
		for _, l := range strings.Split(text, "\n") {
			if !strings.Contains(l, "create") && strings.ContainsAny(l, "/-") {
				return true
			}
		}
	}
	return false
}

// benchNet is the k-th network of the hash:net benchmark: /32, /28, /24
// and /20 in turn, each length in a region of its own, so that all n are
// distinct; the address looked up is inside it.
func benchNet(k int) (net uint32, c uint8, probe uint32) {
	c = []uint8{32, 28, 24, 20}[k%4]
	base := []uint32{0x0a000000, 0x14000000, 0x20000000, 0x40000000}[k%4]
	net = base + uint32(k/4)<<(32-c)
	return net, c, net | (^mask(c) & 0x5)
}

// benchCache keeps the last set benchSet built: the testing package calls
// a benchmark function several times (growing b.N) and -count times in a
// row, and building a set of 1,000,000 takes longer than measuring it.
var benchCache struct {
	key       string
	s         *Set
	mem, kern float64
}

func benchBuild(typ string, n int) (*Set, float64, float64) {
	key := fmt.Sprint(typ, n, hugePages, useFilter)
	if c := &benchCache; c.key == key {
		return c.s, c.mem, c.kern
	}
	benchCache.s = nil
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	r := NewRegistry()
	r.Clock = func() int64 { return 1e18 }
	s, _ := r.Create("s", typ, Options{Maxelem: uint32(n + 10), InitVal: 0x12345678, HasInitVal: true}, false)
	for k := 0; k < n; k++ {
		ip, c := uint32(0x0a000000+k*7), uint8(32)
		if typ == TypeHashNet {
			ip, c, _ = benchNet(k)
		}
		s.add(elemKey{ip: ip, cidr: c}, &Elem{}, true)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	mapped := 0
	for _, x := range s.idx32 {
		mapped += x.mappedBytes()
	}
	mem := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)+int64(mapped)) / float64(s.Len())
	kern := float64(s.MemSize()) / float64(s.Len())
	benchCache.key, benchCache.s, benchCache.mem, benchCache.kern = key, s, mem, kern
	return s, mem, kern
}

// Lookup orders of benchSet.
const (
	inOrder   = iota // insertion order
	scattered        // a multiplicative permutation: no two consecutive lookups share a cache line
	hot              // hotN distinct elements, scattered over the set, looked up in turn
)

// hotN is the hot subset: a gateway's active flows against a big list.
const hotN = 1000

// benchSet measures the set match's lookup in a set of n elements
// (hash:net: benchNet's), the addresses looked up in order (inOrder,
// scattered, or hot: the same cycle as scripts/ipsetsend -hot). It
// reports the memory the set takes per element (the Go heap,
// runtime.MemStats after building the set against before, plus the
// index's huge-page mappings, which MemStats does not see) and the
// kernel's "Size in memory" per element of the same set as nfgo emulates
// it (identical to the real kernel's for the same initval:
// scripts/bench-ipset-restore.sh).
func benchSet(b *testing.B, typ string, n int, order int) {
	s, mem, kern := benchBuild(typ, n)
	b.ReportAllocs()
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		k := i % n
		switch order {
		case scattered:
			k = int(uint64(k) * 2654435761 % uint64(n))
		case hot:
			k = int(uint64(i%hotN) * 2654435761 % uint64(n))
		}
		ip := uint32(0x0a000000 + k*7)
		if typ == TypeHashNet {
			_, _, ip = benchNet(k)
		}
		if s.MatchAt(ip, 60, 1e18, true) { // the set match's path
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no hits")
	}
	if hits != b.N {
		b.Fatalf("%d hits of %d", hits, b.N)
	}
	b.ReportMetric(mem, "memB/entry")
	b.ReportMetric(kern, "kernelB/entry")
}

func BenchmarkLookupHashIP1k(b *testing.B)        { benchSet(b, TypeHashIP, 1000, inOrder) }
func BenchmarkLookupHashIP1M(b *testing.B)        { benchSet(b, TypeHashIP, 1000000, inOrder) }
func BenchmarkLookupHashNet1k(b *testing.B)       { benchSet(b, TypeHashNet, 1000, inOrder) }
func BenchmarkLookupHashNet1M(b *testing.B)       { benchSet(b, TypeHashNet, 1000000, inOrder) }
func BenchmarkLookupHashIP1kRandom(b *testing.B)  { benchSet(b, TypeHashIP, 1000, scattered) }
func BenchmarkLookupHashIP1MRandom(b *testing.B)  { benchSet(b, TypeHashIP, 1000000, scattered) }
func BenchmarkLookupHashNet1kRandom(b *testing.B) { benchSet(b, TypeHashNet, 1000, scattered) }
func BenchmarkLookupHashNet1MRandom(b *testing.B) { benchSet(b, TypeHashNet, 1000000, scattered) }
func BenchmarkLookupHashIP1MHot(b *testing.B)     { benchSet(b, TypeHashIP, 1000000, hot) }
func BenchmarkLookupHashNet1MHot(b *testing.B)    { benchSet(b, TypeHashNet, 1000000, hot) }

// The index's huge pages and filter off, one at a time: what each does.
func BenchmarkIndexOffHashIP1MRandomNoHuge(b *testing.B) {
	benchIndexOff(b, TypeHashIP, &hugePages)
}
func BenchmarkIndexOffHashNet1MRandomNoHuge(b *testing.B) {
	benchIndexOff(b, TypeHashNet, &hugePages)
}
func BenchmarkIndexOffHashNet1MRandomNoFilter(b *testing.B) {
	benchIndexOff(b, TypeHashNet, &useFilter)
}

func benchIndexOff(b *testing.B, typ string, feature *bool) {
	*feature = false
	defer func() { *feature = true }()
	benchSet(b, typ, 1000000, scattered)
}

// TestIndex32 checks the open-addressing index against a map through
// inserts, overwrites, nomatch marks and deletes that collide and wrap
// around: small (few distinct keys, many collisions) and big enough for
// the filter and the huge-page slots (which need 64Ki and 512Ki slots).
func TestIndex32(t *testing.T) {
	t.Run("small", func(t *testing.T) { testIndex32(t, 5000, 65536, 200000, 997) })
	t.Run("big", func(t *testing.T) {
		x := testIndex32(t, 400000, 2654435761, 1000000, 199999)
		if len(x.slots) < 1<<19 || x.filter == nil {
			t.Fatalf("%d slots, filter %v: not big", len(x.slots), x.filter != nil)
		}
		if hugePages && (thpMode() == "madvise" || thpMode() == "always") && x.huge == nil {
			t.Error("no huge-page slots")
		}
	})
}

// testIndex32 draws keys among nkeys distinct ones (i*mul), three inserts
// (one of them marked nomatch) for each delete, and compares everything
// every check steps.
func testIndex32(t *testing.T, nkeys, mul uint32, steps, check int) *u32index {
	type val struct {
		i       int32
		nomatch bool
	}
	var x u32index
	want := map[uint32]val{}
	seed := uint32(1)
	for step := 0; step < steps; step++ {
		seed = seed*1664525 + 1013904223
		k := seed % nkeys * mul
		switch seed >> 30 {
		case 0, 1:
			x.put(k, int32(step))
			want[k] = val{int32(step), false}
		case 2:
			if _, ok := want[k]; ok && step%2 == 0 {
				x.setNomatch(k, true)
				want[k] = val{want[k].i, true}
			} else {
				x.del(k)
				delete(want, k)
			}
		case 3:
			x.del(k)
			delete(want, k)
		}
		if step%check == 0 || step == steps-1 {
			for k, v := range want {
				if got, nm, ok := x.find(k); !ok || got != v.i || nm != v.nomatch {
					t.Fatalf("step %d: key %x: got %d %v %v, want %v", step, k, got, nm, ok, v)
				}
			}
			if x.n != len(want) {
				t.Fatalf("step %d: %d keys, want %d", step, x.n, len(want))
			}
		}
		if _, ok := want[k]; !ok {
			if _, ok := x.get(k); ok {
				t.Fatalf("step %d: deleted key %x found", step, k)
			}
		}
	}
	return &x
}

func TestPortSetsMatch(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	if _, err := r.Restore("create p hash:ip,port counters initval 0x1\nadd p 10.0.0.1,tcp:80-81\nadd p 10.0.0.1,icmp:echo-request\nadd p 10.0.0.1,gre:0\n"+
		"create n hash:net,port initval 0x2\nadd n 10.0.0.0/8,udp:53\nadd n 10.1.0.0/16,udp:53 nomatch\n"+
		"create b bitmap:port range 1000-2000 counters\nadd b 1500-1501\n", false, &out); err != nil {
		t.Fatal(err)
	}
	p, n, b := r.Get("p"), r.Get("n"), r.Get("b")
	for _, c := range []struct {
		s     *Set
		ip    uint32
		proto uint8
		port  uint16
		want  bool
	}{
		{p, 0x0a000001, 6, 80, true}, {p, 0x0a000001, 6, 81, true}, {p, 0x0a000001, 6, 82, false},
		{p, 0x0a000001, 17, 80, false}, {p, 0x0a000001, 1, 0x0800, true}, {p, 0x0a000001, 1, 0x0000, false},
		{p, 0x0a000001, 47, 1234, true}, {p, 0x0a000002, 6, 80, false},
		{n, 0x0a020304, 17, 53, true}, {n, 0x0a010304, 17, 53, false}, {n, 0x0a020304, 6, 53, false},
		{b, 0, 6, 1500, true}, {b, 0, 17, 1501, true}, {b, 0, 132, 1500, false}, {b, 0, 6, 1502, false},
	} {
		if got := c.s.MatchPortAt(c.ip, c.proto, c.port, 100, now, true); got != c.want {
			t.Errorf("%s %x %d %d: got %v", c.s.Name, c.ip, c.proto, c.port, got)
		}
	}
	if p.MatchAt(0x0a000001, 100, now, true) {
		t.Error("a one-dimensional test matched a two-dimensional set")
	}
	var l strings.Builder
	b.WriteList(&l, ListFlags{Mode: OutSave}, true)
	if want := "create b bitmap:port range 1000-2000 counters\nadd b 1500 packets 1 bytes 100\nadd b 1501 packets 1 bytes 100\n"; l.String() != want {
		t.Errorf("bitmap counters:\n%s", l.String())
	}
	if a := testing.AllocsPerRun(100, func() {
		p.MatchPortAt(0x0a000001, 6, 80, 1, now, true)
		n.MatchPortAt(0x0a020304, 17, 53, 1, now, true)
		b.MatchPortAt(0, 6, 1500, 1, now, true)
	}); a != 0 {
		t.Errorf("MatchPortAt allocates %v", a)
	}
	// State round trip keeps the port elements.
	r2 := NewRegistry()
	r2.Clock = r.Clock
	st := r.WriteState()
	if err := r2.LoadState(st); err != nil {
		t.Fatal(err)
	}
	if st2 := r2.WriteState(); st2 != st {
		t.Fatalf("state differs:\n%s\n---\n%s", st, st2)
	}
}

// bitmap:ip: the range widened to the netmask, elements stored masked,
// listed in address order (the expected listing is the real ipset's on
// Linux 6.18; 10.0.1.1-10.0.2.0 walks in /24 steps from 10.0.1.1, so it
// stops before 10.0.2.0); the state file round-trips; the kernel's other
// types are refused by name.
func TestBitmapIP(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	if _, err := r.Restore("create b bitmap:ip range 10.0.0.7-10.0.3.200 netmask 24 timeout 50 comment\n"+
		"add b 10.0.3.9 comment z\nadd b 10.0.1.1-10.0.2.0 timeout 0\n", false, &out); err != nil {
		t.Fatal(err)
	}
	b := r.Get("b")
	b.WriteList(&out, ListFlags{}, true)
	want := "Name: b\nType: bitmap:ip\nRevision: 3\nHeader: range 10.0.0.0-10.0.3.255 netmask 24 timeout 50 comment\n" +
		"Size in memory: 178\nReferences: 0\nNumber of entries: 2\nMembers:\n" +
		"10.0.1.0 timeout 0\n10.0.3.0 timeout 50 comment \"z\"\n"
	if out.String() != want {
		t.Errorf("got\n%swant\n%s", out.String(), want)
	}
	if !b.Test(0x0a0003ff) || b.Test(0x0a0000ff) || b.Test(0x0b000300) {
		t.Error("Test: the netmask's block, an empty block, out of range")
	}
	st := r.WriteState()
	r2 := NewRegistry()
	r2.Clock = r.Clock
	if err := r2.LoadState(st); err != nil {
		t.Fatal(err)
	}
	if st2 := r2.WriteState(); st2 != st {
		t.Fatalf("state differs:\n%s\n---\n%s", st, st2)
	}
	now += 51e9
	if b.Len() != 1 || r2.Get("b").Len() != 1 {
		t.Error("the timed element did not expire")
	}
	for _, typ := range []string{"hash:ip,mac", "hash:ip,mark"} {
		_, err := r.Restore("create x "+typ+"\n", false, &out)
		if err == nil || err.Error() != "Error in line 1: nfgo: set type "+typ+" is not supported" {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// hash:ip,port,net and hash:ip,port,ip: ranges in every part, the kernel's
// member order and memory size (the expected text is ipset 7.17's on a
// 6.18 kernel).
func TestThreeDimTypes(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	for _, l := range []string{
		"create b hash:ip,port,net initval 0x1", "add b 1.2.3.4,80,5.6.7.0/24", "add b 1.2.3.4,80,5.6.7.0/25 nomatch",
		"add b 1.2.3.4,80,5.6.0.0/16", "add b 1.2.3.4,80,5.6.7.5-5.6.7.1", "add b 1.2.3.4-1.2.3.5,80-81,9.9.9.9/30",
		"add b 1.2.3.4/31,udp:1,8.8.8.8",
		"create a hash:ip,port,ip initval 0x1", "add a 1.2.3.4,80,5.6.7.8", "add a 1.2.3.4,udp:53,5.6.7.8",
	} {
		c, err := ParseCommand(splitOK(t, l))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Exec(c, &out); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	c, _ := ParseCommand([]string{"list"})
	if _, err := r.Exec(c, &out); err != nil {
		t.Fatal(err)
	}
	want := `Name: b
Type: hash:ip,port,net
Revision: 8
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x00000001
Size in memory: 1136
References: 0
Number of entries: 12
Members:
1.2.3.4,tcp:80,5.6.7.0/25 nomatch
1.2.3.4,tcp:80,5.6.7.4/31
1.2.3.5,tcp:80,9.9.9.8/30
1.2.3.5,udp:1,8.8.8.8
1.2.3.4,tcp:80,9.9.9.8/30
1.2.3.4,tcp:80,5.6.7.2/31
1.2.3.4,tcp:80,5.6.7.1
1.2.3.4,tcp:80,5.6.0.0/16
1.2.3.4,udp:1,8.8.8.8
1.2.3.5,tcp:81,9.9.9.8/30
1.2.3.4,tcp:81,9.9.9.8/30
1.2.3.4,tcp:80,5.6.7.0/24

Name: a
Type: hash:ip,port,ip
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x00000001
Size in memory: 320
References: 0
Number of entries: 2
Members:
1.2.3.4,udp:53,5.6.7.8
1.2.3.4,tcp:80,5.6.7.8
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	b := r.Get("b")
	for _, c := range []struct {
		ip2  uint32
		want bool
	}{{0x05060709, false}, {0x05060701, true}, {0x050607c8, true}, {0x05060801, true}, {0x05070801, false}} {
		if got := b.MatchElem(0x01020304, c.ip2, 6, 80, 40, now, true, CounterMatch{}); got != c.want {
			t.Errorf("hash:ip,port,net %x: got %v", c.ip2, got)
		}
	}
	for _, l := range []string{"test b 1.2.3.4,80,5.6.7.9 nomatch", "test b 1.2.3.4,80,5.6.8.1", "test a 1.2.3.4,udp:53,5.6.7.8"} {
		c, _ := ParseCommand(splitOK(t, l))
		if _, err := r.Exec(c, &out); err == nil || !strings.HasPrefix(err.Error(), "Warning: ") {
			t.Errorf("%s: %v", l, err)
		}
	}
}

// hash:mac, which this machine's kernel lacks: the text follows ipset
// 7.17's printing (upper-case addresses, no family in the header, as for
// the other family-neutral types) and the kernel's checks (an all-zero
// address refused), and the set match reads the Ethernet header.
func TestHashMAC(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	run := func(l string) error {
		c, err := ParseCommand(splitOK(t, l))
		if err != nil {
			return err
		}
		_, err = r.Exec(c, &out)
		return err
	}
	for _, l := range []string{
		"create m hash:mac counters skbinfo initval 0x1", "add m 0:1:2:a:b:c packets 3", "add m aa:bb:cc:dd:ee:ff skbmark 0x5",
		"create n machash timeout 100",
	} {
		if err := run(l); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	for l, want := range map[string]string{
		"add m 0:0:0:0:0:0":             "Null-valued element, cannot be stored in a hash type of set",
		"add m 00:01:02:0A:0B:0C":       "Element cannot be added to the set: it's already added",
		"add m 1:2:3:4:5":               "Syntax error: cannot parse '1:2:3:4:5' as ethernet address",
		"add m 1:2:3:4:5:6,1":           "Syntax error: Elem separator in 1:2:3:4:5:6,1, but settype hash:mac supports none.",
		"create x hash:mac family inet": "Unknown argument: `family'",
		"test m 00:01:02:0a:0b:0d":      "00:01:02:0A:0B:0D is NOT in set m.",
		"test m 00:01:02:0a:0b:0c":      "Warning: 00:01:02:0A:0B:0C is in set m.",
		"del m 11:11:11:11:11:11":       "Element cannot be deleted from the set: it's not added",
		"add n 1:1:1:1:1:1 skbmark 0x1": "Skbinfo mapping cannot be used: set was created without skbinfo support",
	} {
		if err := run(l); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", l, err, want)
		}
	}
	out.Reset()
	if err := run("list -s m"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	want := "Name: m\nType: hash:mac\nRevision: 1\nHeader: hashsize 1024 maxelem 65536 counters skbinfo bucketsize 12 initval 0x00000001\n" +
		"Size in memory: MEM\nReferences: 0\nNumber of entries: 2\nMembers:\n" +
		"00:01:02:0A:0B:0C packets 3 bytes 0\nAA:BB:CC:DD:EE:FF packets 0 bytes 0 skbmark 0x5\n"
	// 200 bytes of set, then per used bucket a 32-byte header and two
	// 40-byte slots (element 8, counters 16, skbinfo 16).
	mem := ""
	for _, m := range []string{"312", "424"} {
		if strings.Replace(want, "MEM", m, 1) == got {
			mem = m
		}
	}
	if mem == "" {
		t.Errorf("list -s m:\n%s\nwant (MEM 312 or 424):\n%s", got, want)
	}
	m := r.Get("m")
	eth := []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 1, 2, 0xa, 0xb, 0xc, 8, 0}
	var skb SkbInfo
	if !m.MatchMAC(eth, true, 60, now, true, CounterMatch{}) || !m.MatchMAC(eth, false, 60, now, true, CounterMatch{Skb: &skb}) {
		t.Error("source and destination addresses in the set did not match")
	}
	if skb.Mark != 5 || skb.Mask != 0xffffffff {
		t.Errorf("skbinfo handed out: %+v", skb)
	}
	if m.MatchMAC(nil, true, 60, now, true, CounterMatch{}) || m.MatchMAC(make([]byte, 14), true, 60, now, true, CounterMatch{}) {
		t.Error("no header, or an all-zero address, matched")
	}
	if !m.KAddMAC([]byte{1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7, 8, 0}, true, 60, now, 0, false, false) || !m.KDelMAC([]byte{9, 9, 9, 9, 9, 9, 7, 7, 7, 7, 7, 7, 8, 0}, true, now) {
		t.Error("SET target add/del of the source address")
	}
	st := r.WriteState()
	r2 := NewRegistry()
	if err := r2.LoadState(st); err != nil {
		t.Fatal(err)
	}
	if st2 := r2.WriteState(); st2 != st {
		t.Fatalf("state differs:\n%s\n---\n%s", st, st2)
	}
}

// TestHashNetBig checks hash:net's lookups in a set big enough for the
// index's filter and huge-page slots, with nomatch elements set, flipped
// by re-adds and deleted, against a model of mtype_test_cidrs (the
// lengths present, longest first, the first element found deciding), with
// and without timeouts (the index alone decides / the entry is read).
func TestHashNetBig(t *testing.T) {
	for _, timeout := range []bool{false, true} {
		r := NewRegistry()
		r.Clock = func() int64 { return 1e18 }
		s, err := r.Create("n", TypeHashNet, Options{Maxelem: 1 << 20, HasTimeout: timeout, Timeout: 1000}, false)
		if err != nil {
			t.Fatal(err)
		}
		type net struct {
			ip uint32
			c  uint8
		}
		lengths := []uint8{32, 28, 24, 20, 16}
		model := map[net]bool{} // nomatch
		var nets []net
		seed := uint32(7)
		rnd := func() uint32 { seed = seed*1664525 + 1013904223; return seed }
		for i := 0; i < 300000; i++ {
			c := lengths[rnd()%5]
			n := net{(rnd() & 0x3fffffff) & mask(c), c} // a quarter of the space: lengths overlap
			nm := rnd()%8 == 0
			switch op := rnd() % 10; {
			case op < 7 || len(nets) == 0:
				if err := s.add(elemKey{ip: n.ip, cidr: n.c}, &Elem{NoMatch: nm}, true); err != nil {
					t.Fatal(err)
				}
				if _, ok := model[n]; !ok {
					nets = append(nets, n)
				}
				model[n] = nm
			case op < 9: // flip an element's nomatch flag by re-adding it
				n = nets[rnd()%uint32(len(nets))]
				if _, ok := model[n]; ok {
					s.add(elemKey{ip: n.ip, cidr: n.c}, &Elem{NoMatch: !model[n]}, true)
					model[n] = !model[n]
				}
			default:
				n = nets[rnd()%uint32(len(nets))]
				if _, ok := model[n]; ok {
					if err := s.del(elemKey{ip: n.ip, cidr: n.c}); err != nil {
						t.Fatal(err)
					}
					delete(model, n)
				}
			}
		}
		if x := s.idx32[20]; x == nil || x.filter == nil {
			t.Fatal("the /20 index has no filter: the set is too small for this test")
		}
		hits := 0
		for i := 0; i < 200000; i++ {
			ip := rnd() & 0x3fffffff
			if i%2 == 0 { // inside an element
				n := nets[rnd()%uint32(len(nets))]
				ip = n.ip | rnd()&^mask(n.c)
			}
			want, wantNM := false, false
			for _, c := range lengths {
				if nm, ok := model[net{ip & mask(c), c}]; ok {
					want, wantNM = !nm, nm
					break
				}
			}
			if got := s.MatchAt(ip, 60, 1e18, true); got != want {
				t.Fatalf("timeout %v: %s: got %v, want %v", timeout, ipString(ip), got, want)
			}
			if got := s.MatchElemFlags(ip, 0, 0, 0, 60, 1e18, true, CounterMatch{}, true); got != wantNM {
				t.Fatalf("timeout %v: %s return-nomatch: got %v, want %v", timeout, ipString(ip), got, wantNM)
			}
			if want {
				hits++
			}
		}
		if hits < 50000 {
			t.Fatalf("only %d hits", hits)
		}
		probe := nets[0].ip
		if a := testing.AllocsPerRun(100, func() { s.MatchAt(probe, 60, 1e18, true) }); a != 0 {
			t.Errorf("MatchAt allocates %v", a)
		}
	}
}

// TestHashsizeLimit: the kernel refuses a bucket array over INT_MAX bytes
// (hashsize above 2^27), which nfgo once tried to allocate (FuzzRestore).
func TestHashsizeLimit(t *testing.T) {
	r := NewRegistry()
	var out strings.Builder
	_, err := r.Restore("create a hash:ip hashsize 4294967295\n", false, &out)
	if want := "Error in line 1: Kernel error received: Cannot allocate memory"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if _, err := r.Create("b", TypeHashNet, Options{Hashsize: 1<<27 + 1}, false); err == nil || err.Error() != "Kernel error received: Cannot allocate memory" {
		t.Fatalf("hashsize 2^27+1: %v", err)
	}
	if r.Get("a") != nil || r.Get("b") != nil {
		t.Fatal("a refused set was created")
	}
}

func splitOK(t testing.TB, l string) []string {
	t.Helper()
	w, err := SplitLine(l)
	if err != nil {
		t.Fatalf("%q: %v", l, err)
	}
	return w
}

// TestStateOddNames: names, interfaces and comments that ipset accepts
// but its own quoting cannot carry (a quote, a backslash, an empty name)
// read back from the state file unchanged.
func TestStateOddNames(t *testing.T) {
	r := NewRegistry()
	for _, c := range [][]string{
		{"create", `a"b`, "hash:ip", "comment"},
		{"add", `a"b`, "1.2.3.4", "comment", `x \n y`},
		{"create", "", "hash:net,iface"},
		{"add", "", `1.0.0.0/8,e"f\`},
		{"add", "", "2.0.0.0/8,physdev:g h"},
		{"create", "l m", "list:set"},
		{"add", "l m", `a"b`},
		{"add", "l m", ""},
	} {
		cmd, err := ParseCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Exec(cmd, &strings.Builder{}); err != nil {
			t.Fatalf("%q: %v", c, err)
		}
	}
	st := r.WriteState()
	r2 := NewRegistry()
	if err := r2.LoadState(st); err != nil {
		t.Fatalf("%v\n%s", err, st)
	}
	var a, b strings.Builder
	save, _ := ParseCommand([]string{"save"})
	r.Exec(save, &a)
	r2.Exec(save, &b)
	if a.String() != b.String() || r2.WriteState() != st {
		t.Fatalf("state does not read back:\n%s\n---\n%s", a.String(), b.String())
	}
	if !strings.Contains(a.String(), `add  1.0.0.0/8,e"f\`) || !strings.Contains(a.String(), `comment "x \n y"`) {
		t.Fatalf("save:\n%s", a.String())
	}
}
