package xt

import (
	"encoding/hex"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/packet"
)

// Packet logic of the stateful-in-time matches limit, hashlimit and recent,
// checked against what the kernel's code computes (Linux 6.18:
// xt_limit.c, xt_hashlimit.c, xt_recent.c) at HZ=250. Times are given in
// milliseconds after stT0; one jiffy is 4 ms.

const stT0 = int64(1705320000) * 1e9 // a whole second: jiffies start on a tick

func stAt(ms int64) int64 { return stT0 + ms*1e6 }

// stMatcher parses "-m name args" and binds it (the kernel's checkentry).
func stMatcher(t *testing.T, d *Def, proto uint8, args string) Matcher {
	t.Helper()
	in, _, err := buildExt(d, proto, strings.Fields(args)...)
	if err != nil {
		t.Fatalf("-m %s %s: %v", d.Name, args, err)
	}
	if b, ok := in.Ext.(Binder); ok {
		if err := b.Bind(); err != nil {
			t.Fatalf("-m %s %s: bind: %v", d.Name, args, err)
		}
	}
	return in.Ext.(Matcher)
}

type stSpec struct {
	src, dst         uint32
	proto            uint8
	sport, dport     uint16
	ttl              uint8
	payload          int
	ms               int64 // time after stT0
	hook             Hook
	out              string
	forwarded        bool // FORWARD hook with an output device
	wantMatch        bool
	wantDrop         bool
	repeat           int // the same packet this many times (0: once)
	wantFirstMatches int // with repeat: this many match, the rest do not
}

func stPacket(t testing.TB, s stSpec) *Pkt {
	t.Helper()
	if s.src == 0 {
		s.src = 0x0a000001
	}
	if s.dst == 0 {
		s.dst = 0x0a000002
	}
	if s.proto == 0 {
		s.proto = packet.ProtoTCP
	}
	raw := packet.Build(&packet.Spec{Src: s.src, Dst: s.dst, Proto: s.proto, SrcPort: s.sport, DstPort: s.dport,
		TTL: s.ttl, TCPFlags: packet.TCPSyn, PayloadLen: s.payload})
	p := &Pkt{}
	if err := p.Decode(raw); err != nil {
		t.Fatalf("decode: %v", err)
	}
	p.Time = stAt(s.ms)
	p.Hook = HookLocalIn
	p.InIface = "eth0"
	if s.forwarded {
		p.Hook, p.OutIface = HookForward, "eth1"
	}
	return p
}

// stSeq runs packets through one matcher and checks each decision.
func stSeq(t *testing.T, m Matcher, what string, seq []stSpec) {
	t.Helper()
	for i, s := range seq {
		n := s.repeat
		if n == 0 {
			n = 1
		}
		for k := 0; k < n; k++ {
			p := stPacket(t, s)
			got := m.Match(p)
			want := s.wantMatch
			if s.repeat > 0 {
				want = k < s.wantFirstMatches
			}
			if got != want || p.HotDrop != s.wantDrop {
				t.Errorf("%s: packet %d.%d at %d ms: match %v hotdrop %v, want %v %v", what, i, k, s.ms, got, p.HotDrop, want, s.wantDrop)
			}
		}
	}
}

func TestJiffies(t *testing.T) {
	if HZ != 250 {
		t.Fatalf("HZ %d", HZ)
	}
	for _, c := range []struct {
		t    int64
		want uint64
	}{
		{0, 0}, {3999999, 0}, {4000000, 1}, {1e9, 250}, {stT0, 1705320000 * 250}, {stAt(1001), 1705320000*250 + 250},
		{-1, ^uint64(0)},
	} {
		if got := Jiffies(c.t); got != c.want {
			t.Errorf("Jiffies(%d) = %d, want %d", c.t, got, c.want)
		}
	}
	for _, c := range [][2]uint64{{0, 0}, {1, 1}, {4, 1}, {5, 2}, {1000, 250}, {60000, 15000}} {
		if got := msecsToJiffies(uint32(c[0])); got != c[1] {
			t.Errorf("msecs_to_jiffies(%d) = %d, want %d", c[0], got, c[1])
		}
	}
	// Values of the kernel's jhash_1word (include/linux/jhash.h).
	for _, c := range [][3]uint32{
		{0x0, 0x0, 0x49396b8}, {0x0, 0x3039, 0xbaae279b}, {0x1, 0xffffffff, 0x8f68e60d},
		{0x100000a, 0x0, 0x2fa5f781}, {0xdeadbeef, 0x3039, 0xfac69188}, {0x200000a, 0x0, 0x2ab7323f},
	} {
		if got := jhash1Word(c[0], c[1]); got != c[2] {
			t.Errorf("jhash_1word(%#x, %#x) = %#x, want %#x", c[0], c[1], got, c[2])
		}
	}
	if limitCPJ() != 128 || uint32(HZ)*limitCPJ() != 32000 {
		t.Errorf("xt_limit CREDITS_PER_JIFFY %d", limitCPJ())
	}
}

// limit 1/sec burst 5: avg 10000, cost user2credits(10000) = 32000, the
// bucket holds 160000, a jiffy adds 128 (250 jiffies refill one packet).
func TestLimitMatchPacket(t *testing.T) {
	m := stMatcher(t, &limitMatch, 0, "--limit 1/sec --limit-burst 5")
	l := m.(*Limit)
	stSeq(t, m, "limit 1/sec burst 5", []stSpec{
		{ms: 0, repeat: 10, wantFirstMatches: 5},
		{ms: 996, wantMatch: false}, // 249 jiffies: 31872 credits
		{ms: 1000, wantMatch: true}, // 250 jiffies: 32000
		{ms: 1000, wantMatch: false},
		{ms: 1500, wantMatch: false}, // 16000
		{ms: 2000, wantMatch: true},  // 16000 + 16000
		{ms: 10000, repeat: 7, wantFirstMatches: 5},
		{ms: 9000, wantMatch: false}, // earlier than the last packet: no time passes
	})
	if l.creditCap != 160000 || l.cost != 32000 {
		t.Errorf("credit_cap %d cost %d", l.creditCap, l.cost)
	}

	// 3/hour (the default rate), burst 1: cost 3600*10000/3 = 12000000
	// user units, divided first (over 0xFFFFFFFF/32000): 1200*32000.
	m = stMatcher(t, &limitMatch, 0, "--limit-burst 1")
	stSeq(t, m, "limit 3/hour burst 1", []stSpec{
		{ms: 0, wantMatch: true},
		{ms: 1199996, wantMatch: false},
		{ms: 1200000, wantMatch: true},
	})

	// The kernel's 32-bit credit arithmetic: 2^32/128 jiffies without a
	// packet (about 38 hours) add nothing.
	m = stMatcher(t, &limitMatch, 0, "--limit 1/sec --limit-burst 1")
	wrap := int64(1<<25) * 4 // ms: 2^25 jiffies
	stSeq(t, m, "limit wrap", []stSpec{
		{ms: 0, wantMatch: true},
		{ms: wrap, wantMatch: false},
		{ms: wrap + 1000, wantMatch: true},
	})
}

// 8 HTTP connections per minute per source with hashlimit: avg
// 60e6/8 = 7500000, burst 8; a packet costs 7500000*137438953 credits and
// a jiffy adds 2^39, so one packet comes back after 1875 jiffies (7.5 s).
func TestHashlimitMatchPacket(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()
	const a, b = 0x0a000001, 0x0a000063
	m := stMatcher(t, &hashlimitMatch, 6, "--hashlimit-upto 8/minute --hashlimit-burst 8 --hashlimit-mode srcip --hashlimit-name http")
	stSeq(t, m, "hashlimit 8/min", []stSpec{
		{src: a, dport: 80, ms: 0, repeat: 10, wantFirstMatches: 8},
		{src: b, dport: 80, ms: 0, wantMatch: true},
		{src: a, dport: 80, ms: 7496, wantMatch: false},
		{src: a, dport: 80, ms: 7500, wantMatch: true},
		{src: a, dport: 80, ms: 7500, wantMatch: false},
	})
	if n, _ := HashlimitTableLen("http"); n != 2 {
		t.Errorf("table holds %d buckets, want 2", n)
	}

	// A second rule naming the same table shares its buckets and uses the
	// table's configuration (the creator's rate), not its own.
	m2 := stMatcher(t, &hashlimitMatch, 6, "--hashlimit-upto 100/sec --hashlimit-burst 100 --hashlimit-mode dstport --hashlimit-name http")
	stSeq(t, m2, "hashlimit shared", []stSpec{
		{src: a, dport: 81, ms: 7500, wantMatch: false}, // srcip a's bucket, empty
		{src: 0x0a0000c8, dport: 80, ms: 7500, repeat: 9, wantFirstMatches: 8},
	})
	// A rule with --hashlimit-rate-match cannot join a table without.
	in, _, err := buildExt(&hashlimitMatch, 0, strings.Fields("--hashlimit-upto 1/sec --hashlimit-rate-match --hashlimit-name http")...)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Ext.(Binder).Bind(); err == nil {
		t.Errorf("rate-match rule bound to a token-bucket table")
	}

	// --hashlimit-above inverts; masks; ports (dstport) of protocols with
	// and without ports; AH hashes its SPI; truncated: dropped.
	m = stMatcher(t, &hashlimitMatch, 0, "--hashlimit-above 1/hour --hashlimit-burst 1 --hashlimit-mode srcip,dstport --hashlimit-srcmask 24 --hashlimit-name masks")
	stSeq(t, m, "hashlimit above, masks, ports", []stSpec{
		{src: 0x0a000001, dport: 80, ms: 0, wantMatch: false},
		{src: 0x0a0000fe, dport: 80, ms: 0, wantMatch: true}, // same /24, same port
		{src: 0x0a000101, dport: 80, ms: 0, wantMatch: false},
		{src: 0x0a000001, dport: 443, ms: 0, wantMatch: false},
		{src: 0x0a000001, proto: packet.ProtoUDP, sport: 9, dport: 443, ms: 0, wantMatch: true},
		{src: 0x0a000001, proto: packet.ProtoICMP, ms: 0, wantMatch: false},
		{src: 0x0a000001, proto: packet.ProtoICMP, ms: 1, wantMatch: true},
		{src: 0x0a000001, proto: 51, payload: 4, ms: 0, wantMatch: false, wantDrop: true},
		{src: 0x0a000001, proto: 51, payload: 8, ms: 0, wantMatch: true}, // SPI 0: the ICMP bucket
	})

	// Byte mode: 1kb/s is a cost of 66076419 per 16-byte chunk
	// (user2credits_byte: 64527752 credits); a 100-byte packet is 7 chunks
	// and the bucket holds 2^24*250 credits: 9 packets at once.
	m = stMatcher(t, &hashlimitMatch, 0, "--hashlimit-upto 1kb/s --hashlimit-name bytes")
	stSeq(t, m, "hashlimit 1kb/s", []stSpec{
		{payload: 60, ms: 0, repeat: 12, wantFirstMatches: 9},
		{payload: 60, ms: 1000, repeat: 12, wantFirstMatches: 9},
	})
	// With a burst, an empty bucket is refilled burst-1 times more
	// (--hashlimit-burst 3kb: 3 refills of one second each).
	m = stMatcher(t, &hashlimitMatch, 0, "--hashlimit-upto 1kb/s --hashlimit-burst 3kb --hashlimit-name bytesburst")
	stSeq(t, m, "hashlimit 1kb/s burst 3kb", []stSpec{
		{payload: 60, ms: 0, repeat: 40, wantFirstMatches: 36},
	})

	// Rate match: 10/minute is rate 10 per 60 s interval, burst 5+10.
	m = stMatcher(t, &hashlimitMatch, 0, "--hashlimit-upto 10/minute --hashlimit-rate-match --hashlimit-name rate")
	stSeq(t, m, "hashlimit rate-match", []stSpec{
		{ms: 0, repeat: 20, wantFirstMatches: 15},
		{ms: 30000, wantMatch: false},
		{ms: 60000, wantMatch: false}, // the last interval was over the rate
		{ms: 120000, wantMatch: true},
	})

	// Expiry and garbage collection: max 2 buckets; expired buckets stay
	// until the collector runs (every 5 s from the table's first packet);
	// a full table drops new flows.
	m = stMatcher(t, &hashlimitMatch, 0, "--hashlimit-upto 1/sec --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-htable-size 2 --hashlimit-htable-max 2 --hashlimit-htable-expire 1000 --hashlimit-htable-gcinterval 5000 --hashlimit-name gc")
	stSeq(t, m, "hashlimit gc", []stSpec{
		{src: 1, ms: 0, wantMatch: true},
		{src: 2, ms: 0, wantMatch: true},
		{src: 3, ms: 0, wantMatch: false, wantDrop: true},
		{src: 3, ms: 4996, wantMatch: false, wantDrop: true},
		{src: 3, ms: 5000, wantMatch: true},
		{src: 3, ms: 5000, wantMatch: false},
	})
	if n, _ := HashlimitTableLen("gc"); n != 1 {
		t.Errorf("gc table holds %d buckets, want 1", n)
	}
	// Collections missed while no packet came: the last run frees.
	stSeq(t, m, "hashlimit gc later", []stSpec{
		{src: 4, ms: 16000, wantMatch: true},
		{src: 5, ms: 16000, wantMatch: true},
	})
	if n, _ := HashlimitTableLen("gc"); n != 2 {
		t.Errorf("gc table holds %d buckets, want 2", n)
	}
}

// stRule is one rule of a small chain: a match and a verdict ("" goes on).
type stRule struct {
	m       Matcher
	verdict string
}

// stChain returns the verdict of the first terminating rule that matches
// (ACCEPT when none does).
func stChain(p *Pkt, rules []stRule) string {
	for _, r := range rules {
		if r.m.Match(p) && r.verdict != "" {
			return r.verdict
		}
	}
	return "ACCEPT"
}

// The seed recipe: block SSH on the 4th new connection within 60 s.
//
//	-A INPUT -p tcp --dport 22 -m recent --set --name SSH
//	-A INPUT -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH -j DROP
func TestRecentSSHBlock(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()
	chain := []stRule{
		{stMatcher(t, &recentMatch, 6, "--set --name SSH"), ""},
		{stMatcher(t, &recentMatch, 6, "--update --seconds 60 --hitcount 4 --name SSH"), "DROP"},
	}
	const a, b = 0x0a000001, 0x0a000002
	for i, c := range []struct {
		src  uint32
		ms   int64
		want string
	}{
		{a, 0, "ACCEPT"}, {a, 10000, "ACCEPT"}, {a, 20000, "ACCEPT"},
		{b, 25000, "ACCEPT"},
		{a, 30000, "DROP"}, // 4th within 60 s
		{a, 35000, "DROP"},
		// At 95 s the window starts at 35 s: stamps 35 (set and update)
		// and 95 are in it; a 4th is needed.
		{a, 95000, "ACCEPT"},
		{a, 95000, "DROP"},
		// One jiffy later the window starts after 35 s: 95, 95, 95 (the
		// update's) and 95.004.
		{a, 95004, "DROP"},
		{b, 96000, "ACCEPT"}, // b's stamp at 25 s is out of the window
	} {
		p := stPacket(t, stSpec{src: c.src, dport: 22, ms: c.ms})
		if got := stChain(p, chain); got != c.want {
			t.Errorf("connection %d (%#x at %d ms): %s, want %s", i, c.src, c.ms, got, c.want)
		}
	}
}

// Port knocking: a packet to 1234 opens SSH for 15 s.
//
//	-A INPUT -p tcp --dport 1234 -m recent --set --name KNOCK
//	-A INPUT -p tcp --dport 22 -m recent --rcheck --seconds 15 --name KNOCK -j ACCEPT
func TestRecentPortKnock(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()
	knock := stMatcher(t, &recentMatch, 6, "--set --name KNOCK")
	check := stMatcher(t, &recentMatch, 6, "--rcheck --seconds 15 --name KNOCK")
	const a, b = 0x0a000001, 0x0a000002
	stSeq(t, check, "before the knock", []stSpec{{src: a, dport: 22, ms: 0, wantMatch: false}})
	stSeq(t, knock, "knock", []stSpec{{src: a, dport: 1234, ms: 1000, wantMatch: true}})
	stSeq(t, check, "after the knock", []stSpec{
		{src: a, dport: 22, ms: 5000, wantMatch: true},
		{src: b, dport: 22, ms: 5000, wantMatch: false},
		{src: a, dport: 22, ms: 16000, wantMatch: true}, // the stamp is exactly 15 s old
		{src: a, dport: 22, ms: 16004, wantMatch: false},
	})
}

// 8 new HTTP connections per minute with recent --hitcount:
//
//	-A INPUT -p tcp --dport 80 -m recent --rcheck --seconds 60 --hitcount 8 --name HTTP -j DROP
//	-A INPUT -p tcp --dport 80 -m recent --set --name HTTP
func TestRecentHitcountHTTP(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()
	chain := []stRule{
		{stMatcher(t, &recentMatch, 6, "--rcheck --seconds 60 --hitcount 8 --name HTTP"), "DROP"},
		{stMatcher(t, &recentMatch, 6, "--set --name HTTP"), ""},
	}
	var got []string
	for i := 0; i < 10; i++ {
		got = append(got, stChain(stPacket(t, stSpec{dport: 80, ms: int64(i) * 1000}), chain))
	}
	// Exactly one minute after the first connection its stamp is still in
	// the window; one jiffy later it is not.
	got = append(got, stChain(stPacket(t, stSpec{dport: 80, ms: 60000}), chain))
	got = append(got, stChain(stPacket(t, stSpec{dport: 80, ms: 60004}), chain))
	got = append(got, stChain(stPacket(t, stSpec{dport: 80, ms: 60004}), chain))
	want := "ACCEPT ACCEPT ACCEPT ACCEPT ACCEPT ACCEPT ACCEPT ACCEPT DROP DROP DROP ACCEPT DROP"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
	// The list's ring has 32 slots (the --set rule asks for 32, more than
	// hitcount 8 rounds to).
	text, _ := RecentProcRead("HTTP")
	if !strings.HasPrefix(text, "src=10.0.0.1 ttl: 64 last_seen: 426330015001 oldest_pkt: 9 426330000000, ") {
		t.Errorf("proc: %q", text)
	}
}

func TestRecentMatchPacket(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()

	// --rttl: the entry's TTL must agree; a forwarded packet's TTL is
	// counted before the router's decrement.
	set := stMatcher(t, &recentMatch, 0, "--set --name T")
	ttl := stMatcher(t, &recentMatch, 0, "--rcheck --rttl --name T")
	inv := stMatcher(t, &recentMatch, 0, "! --rcheck --rttl --name T")
	stSeq(t, set, "set", []stSpec{{ttl: 64, wantMatch: true}})
	stSeq(t, ttl, "rttl", []stSpec{
		{ttl: 63, wantMatch: false},
		{ttl: 64, wantMatch: true},
		{ttl: 63, forwarded: true, wantMatch: true},
	})
	stSeq(t, inv, "! rttl", []stSpec{{ttl: 63, wantMatch: true}, {ttl: 64, wantMatch: false}})

	// --remove matches (and removes) a listed address only.
	rm := stMatcher(t, &recentMatch, 0, "--remove --name T")
	stSeq(t, rm, "remove", []stSpec{{wantMatch: true}, {wantMatch: false}})

	// The list's mask is the creating rule's.
	stMatcher(t, &recentMatch, 0, "--set --name M --mask 255.255.255.0").Match(stPacket(t, stSpec{src: 0x0a000001}))
	chk := stMatcher(t, &recentMatch, 0, "--rcheck --name M")
	stSeq(t, chk, "mask", []stSpec{{src: 0x0a000007, wantMatch: true}, {src: 0x0a000107, wantMatch: false}})
	if text, _ := RecentProcRead("M"); text != "src=10.0.0.0 ttl: 64 last_seen: 426330000000 oldest_pkt: 1 426330000000\n" {
		t.Errorf("proc M: %q", text)
	}

	// LRU eviction at 100 addresses; --update and --set refresh.
	lset := stMatcher(t, &recentMatch, 0, "--set --name L")
	lchk := stMatcher(t, &recentMatch, 0, "--rcheck --name L")
	for i := uint32(1); i <= 100; i++ {
		lset.Match(stPacket(t, stSpec{src: 0x0b000000 + i, ms: int64(i)}))
	}
	lset.Match(stPacket(t, stSpec{src: 0x0b000002, ms: 200})) // now the newest
	lset.Match(stPacket(t, stSpec{src: 0x0b000065, ms: 300})) // evicts .1
	lset.Match(stPacket(t, stSpec{src: 0x0b000066, ms: 400})) // evicts .3
	stSeq(t, lchk, "lru", []stSpec{
		{src: 0x0b000001, wantMatch: false}, {src: 0x0b000002, wantMatch: true},
		{src: 0x0b000003, wantMatch: false}, {src: 0x0b000004, wantMatch: true},
		{src: 0x0b000066, wantMatch: true},
	})
	if text, _ := RecentProcRead("L"); strings.Count(text, "\n") != 100 {
		t.Errorf("list L has %d lines", strings.Count(text, "\n"))
	}

	// --reap drops the least recently used address once its newest stamp
	// is older than --seconds (not the one being updated).
	rset := stMatcher(t, &recentMatch, 0, "--set --name R")
	reap := stMatcher(t, &recentMatch, 0, "--update --seconds 10 --reap --name R")
	rset.Match(stPacket(t, stSpec{src: 1, ms: 0}))
	rset.Match(stPacket(t, stSpec{src: 2, ms: 5000}))
	stSeq(t, reap, "reap", []stSpec{
		{src: 2, ms: 12000, wantMatch: true}, // .1 (stamp 0) reaped
		{src: 1, ms: 12000, wantMatch: false},
		{src: 2, ms: 30000, wantMatch: false}, // too old; reaped itself
		{src: 2, ms: 30000, wantMatch: false},
	})

	// A rule needing a larger stamp ring empties the list when bound.
	gset := stMatcher(t, &recentMatch, 0, "--set --name G")
	gset.Match(stPacket(t, stSpec{}))
	stMatcher(t, &recentMatch, 0, "--rcheck --hitcount 40 --name G")
	if text, _ := RecentProcRead("G"); text != "" {
		t.Errorf("list G after growing: %q", text)
	}

	// The stamp ring: a list made by a --hitcount 2 rule has 2 slots.
	only := stMatcher(t, &recentMatch, 0, "--update --hitcount 2 --name H3")
	if _, err := RecentProcWrite("H3", []byte("+10.0.0.1\n"), stAt(0)); err != nil {
		t.Fatal(err)
	}
	stSeq(t, only, "ring of 2", []stSpec{
		{ms: 4, wantMatch: false}, // one stamp
	})
	RecentProcWrite("H3", []byte("+10.0.0.1"), stAt(8))
	stSeq(t, only, "ring of 2", []stSpec{
		{ms: 12, wantMatch: true}, // two stamps; the update adds a third
		{ms: 16, wantMatch: true},
	})
	if text, _ := RecentProcRead("H3"); text != "src=10.0.0.1 ttl: 64 last_seen: 426330000004 oldest_pkt: 2 426330000003, 426330000004\n" {
		t.Errorf("proc H3: %q", text)
	}
}

func TestRecentProc(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()
	set := stMatcher(t, &recentMatch, 0, "--set --name P")
	for i, ms := range []int64{0, 1000, 2004} {
		set.Match(stPacket(t, stSpec{src: 0x0a000001, ms: ms, ttl: uint8(60 + i)}))
	}
	set.Match(stPacket(t, stSpec{src: 0x0a000002, ms: 3000}))
	for _, c := range []struct {
		in   string
		n    int
		fail bool
	}{
		{"+10.0.0.9\n", 10, false},
		{"+010.000.0.0009", 15, false}, // decimal with leading zeros: 10.0.0.9 again
		{"-10.0.0.2", 9, false},
		{"-10.0.0.3", 9, false}, // not listed: nothing happens
		{"+10.0.0.3\x00junk", 14, false},
		{"10.0.0.1", 0, true},
		{"+10.0.0", 0, true},
		{"+10.0.0.1 ", 0, true},
		{"+10.0.0.256", 0, true},
		{"+10.0.0.1.", 0, true},
		{"+10..0.1", 0, true},
		{"+::1", 0, true},
		{"", 0, false},
	} {
		n, err := RecentProcWrite("P", []byte(c.in), stAt(4000))
		if (err != nil) != c.fail || n != c.n {
			t.Errorf("write %q: %d %v", c.in, n, err)
		}
	}
	if _, err := RecentProcWrite("nope", []byte("/"), 0); err == nil {
		t.Errorf("write to a missing list succeeded")
	}
	text, _ := RecentProcRead("P")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	sort.Strings(lines)
	want := []string{
		"src=10.0.0.1 ttl: 62 last_seen: 426330000501 oldest_pkt: 3 426330000000, 426330000250, 426330000501",
		"src=10.0.0.3 ttl: 0 last_seen: 426330001000 oldest_pkt: 1 426330001000",
		"src=10.0.0.9 ttl: 0 last_seen: 426330001000 oldest_pkt: 2 426330001000, 426330001000",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("proc:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Lines come in hash-bucket order (jhash of the address, seed 0).
	var order []string
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		order = append(order, strings.Fields(l)[0])
	}
	if s := strings.Join(order, " "); s != recentOrder(0x0a000001, 0x0a000009, 0x0a000003) {
		t.Errorf("order %s", s)
	}
	if n, err := RecentProcWrite("P", []byte("/\n"), stAt(5000)); n != 2 || err != nil {
		t.Errorf("flush: %d %v", n, err)
	}
	if text, _ := RecentProcRead("P"); text != "" {
		t.Errorf("after flush: %q", text)
	}
}

// recentOrder sorts addresses by their bucket (ip_list_hash_size 128).
func recentOrder(addrs ...uint32) string {
	sort.SliceStable(addrs, func(i, j int) bool {
		return jhash1Word(reverse32(addrs[i]), 0)&127 < jhash1Word(reverse32(addrs[j]), 0)&127
	})
	var s []string
	for _, a := range addrs {
		s = append(s, "src="+IPv4(a).String())
	}
	return strings.Join(s, " ")
}

func reverse32(a uint32) uint32 { return a>>24 | a>>8&0xff00 | a<<8&0xff0000 | a<<24 }

func TestRecentCheckHitcount(t *testing.T) {
	for _, c := range []struct {
		args string
		ok   bool
	}{
		{"--rcheck --hitcount 65535", true},
		{"--rcheck --hitcount 65536", false},
	} {
		in, ctx, err := buildExt(&recentMatch, 0, strings.Fields(c.args)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Ext.(Checker).Check(ctx); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.args, err)
		}
	}
	// A ring of 65536 stamps: the kernel's u16 index wraps.
	ResetStatefulTables()
	defer ResetStatefulTables()
	m := stMatcher(t, &recentMatch, 0, "--update --hitcount 65535 --name BIG")
	RecentProcWrite("BIG", []byte("+10.0.0.1"), stAt(0))
	for i := 1; i < 65535; i++ {
		RecentProcWrite("BIG", []byte("+10.0.0.1"), stAt(int64(i)))
	}
	stSeq(t, m, "65535 stamps", []stSpec{{ms: 70000, wantMatch: true}, {ms: 70000, wantMatch: true}})
	text, _ := RecentProcRead("BIG")
	if !strings.Contains(text, " oldest_pkt: 1 ") {
		t.Errorf("index after wrap: %.80q", text)
	}
}

func TestStatefulTimeNoAllocs(t *testing.T) {
	ResetStatefulTables()
	defer ResetStatefulTables()
	p := stPacket(t, stSpec{dport: 80})
	for _, c := range []struct {
		def  *Def
		args string
	}{
		{&limitMatch, "--limit 10/sec"},
		{&hashlimitMatch, "--hashlimit-upto 10/sec --hashlimit-mode srcip,dstport --hashlimit-name a"},
		{&hashlimitMatch, "--hashlimit-upto 10kb/s --hashlimit-burst 20kb --hashlimit-name b"},
		{&hashlimitMatch, "--hashlimit-above 10/sec --hashlimit-rate-match --hashlimit-name c"},
		{&recentMatch, "--set --name a"},
		{&recentMatch, "--update --seconds 10 --hitcount 3 --reap --name a"},
		{&recentMatch, "--rcheck --rttl --name a"},
	} {
		m := stMatcher(t, c.def, 0, c.args)
		m.Match(p) // the first packet may make a bucket
		if n := testing.AllocsPerRun(500, func() {
			p.Time += 1e6
			m.Match(p)
		}); n != 0 {
			t.Errorf("-m %s %s: %v allocations per packet", c.def.Name, c.args, n)
		}
	}
}

// TestKernelStatefulTime sends timed UDP packets from one namespace to
// another, counts them in the receiver's raw PREROUTING with limit,
// hashlimit and recent rules, and compares the counters with nfgo's
// decisions for the same packets at the nominal times (the gaps are long
// enough that the real sending jitter does not change any decision).
// It also compares /proc/net/xt_recent/NAME (jiffies values aside) and
// the effect of a write to it.
func TestKernelStatefulTime(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("kernel comparison needs root, network namespaces and iptables-legacy: " + why)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("kernel comparison sends raw packets with python3")
	}
	ResetStatefulTables()
	defer ResetStatefulTables()
	a, b := netns.New(t), netns.New(t)
	if out, err := exec.Command("ip", "link", "add", "va", "netns", a.Name, "type", "veth", "peer", "name", "vb", "netns", b.Name).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	a.MustRun(t, "ip", "addr", "add", "10.80.0.1/24", "dev", "va")
	b.MustRun(t, "ip", "addr", "add", "10.80.0.2/24", "dev", "vb")
	a.MustRun(t, "ip", "link", "set", "va", "up")
	b.MustRun(t, "ip", "link", "set", "vb", "up")
	const src, dst = 0x0a500001, 0x0a500002
	name := fmt.Sprintf("nfgo%d", time.Now().UnixNano()%100000)

	type rule struct {
		port uint16
		def  *Def
		args string
	}
	rs := []rule{
		{1001, &limitMatch, "--limit 1/sec --limit-burst 5"},
		{1002, &hashlimitMatch, "--hashlimit-upto 2/sec --hashlimit-burst 3 --hashlimit-mode srcport --hashlimit-name " + name},
		{1003, &recentMatch, "--set --name " + name},
		{1004, &recentMatch, "--rcheck --seconds 2 --hitcount 3 --name " + name},
		{1004, &recentMatch, "! --update --seconds 2 --hitcount 2 --rttl --name " + name},
		{1005, &hashlimitMatch, "--hashlimit-upto 5/minute --hashlimit-rate-match --hashlimit-rate-interval 2 --hashlimit-name " + name + "r"},
		// The table of 1002 (srcport, 2/sec, burst 3) is used, not this
		// rule's settings.
		{1006, &hashlimitMatch, "--hashlimit-upto 100/sec --hashlimit-burst 100 --hashlimit-mode dstport --hashlimit-name " + name},
		// The list's mask is its creator's (/24).
		{1007, &recentMatch, "--set --name " + name + "m --mask 255.255.255.0"},
		{1008, &recentMatch, "--rcheck --name " + name + "m"},
	}
	ms := make([]Matcher, len(rs))
	for i, r := range rs {
		ms[i] = stMatcher(t, r.def, packet.ProtoUDP, r.args)
		args := []string{"iptables-legacy", "-t", "raw", "-A", "PREROUTING", "-s", "10.80.0.0/24", "-p", "udp", "--dport", strconv.Itoa(int(r.port)), "-m", r.def.Name}
		b.MustRun(t, append(args, strings.Fields(r.args)...)...)
	}

	type step struct {
		sleepMs int64
		sport   uint16
		dport   uint16
		n       int
		ttl     uint8
		src     uint32
	}
	steps := []step{
		{0, 4000, 1004, 1, 0, 0},
		{0, 4000, 1001, 10, 0, 0},
		{0, 5001, 1002, 5, 0, 0},
		{0, 5002, 1002, 5, 0, 0},
		{0, 4000, 1003, 2, 0, 0},
		{0, 4000, 1004, 1, 0, 0},
		{0, 4000, 1003, 1, 0, 0},
		{0, 4000, 1004, 1, 0, 0},
		{0, 4000, 1004, 1, 50, 0},
		{0, 4000, 1005, 12, 0, 0},
		{2500, 4000, 1004, 1, 0, 0},
		{0, 4000, 1001, 10, 0, 0},
		{0, 5001, 1002, 5, 0, 0},
		{0, 4000, 1005, 12, 0, 0},
		{700, 4000, 1001, 3, 0, 0},
		{0, 4000, 1003, 1, 0, 0},
		{0, 4000, 1004, 1, 0, 0},
		{0, 5001, 1006, 2, 0, 0},
		{0, 5003, 1006, 5, 0, 0},
		{0, 4000, 1007, 1, 0, src},
		{0, 4000, 1008, 1, 0, 0x0a500007},
		{0, 4000, 1008, 1, 0, 0x0a500107},
	}
	id := uint16(0x5000)
	script := "import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\nfor l in sys.stdin:\n w=l.split()\n if w[0]=='sleep': time.sleep(float(w[1]))\n else: s.sendto(bytes.fromhex(w[0]),('10.80.0.2',0))\n"
	var input strings.Builder
	var counts = make([]int, len(rs))
	now := int64(0)
	for _, s := range steps {
		now += s.sleepMs
		if s.sleepMs > 0 {
			fmt.Fprintf(&input, "sleep %.3f\n", float64(s.sleepMs)/1000)
		}
		for k := 0; k < s.n; k++ {
			id++
			ttl := s.ttl
			if ttl == 0 {
				ttl = 64
			}
			from := uint32(src)
			if s.src != 0 {
				from = s.src
			}
			raw := packet.Build(&packet.Spec{Src: from, Dst: dst, Proto: packet.ProtoUDP, SrcPort: s.sport, DstPort: s.dport, TTL: ttl, ID: id, PayloadLen: 4})
			input.WriteString(hex.EncodeToString(raw) + "\n")
			for i, r := range rs {
				if r.port != s.dport {
					continue
				}
				p := &Pkt{}
				if err := p.Decode(raw); err != nil {
					t.Fatal(err)
				}
				p.Hook, p.InIface, p.Time = HookPreRouting, "vb", stAt(now)
				if ms[i].Match(p) {
					counts[i]++
				}
			}
		}
	}
	a.MustRun(t, "ip", "neigh", "replace", "10.80.0.2", "lladdr", "02:00:00:00:04:0b", "dev", "va")
	b.MustRun(t, "ip", "link", "set", "vb", "address", "02:00:00:00:04:0b")
	if _, errOut, code := a.RunInput(strings.NewReader(input.String()), "python3", "-c", script); code != 0 {
		t.Fatalf("send: %s", errOut)
	}
	time.Sleep(200 * time.Millisecond)
	out := b.MustRun(t, "iptables-legacy", "-t", "raw", "-L", "PREROUTING", "-v", "-n", "-x")
	var kernel []int
	for _, l := range strings.Split(out, "\n")[2:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		kernel = append(kernel, n)
	}
	if fmt.Sprint(kernel) != fmt.Sprint(counts) {
		t.Errorf("counters: kernel %v, nfgo %v\n%s", kernel, counts, out)
	} else {
		t.Logf("counters (kernel = nfgo): %v", counts)
	}

	// /proc/net/xt_recent: the same lines, jiffies aside; then a write.
	jiffies := regexp.MustCompile(`\b[0-9]{7,}\b`)
	norm := func(s string) string {
		lines := strings.Split(strings.TrimSuffix(jiffies.ReplaceAllString(s, "J"), "\n"), "\n")
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	procFile := "/proc/net/xt_recent/" + name
	compare := func(what string) {
		k, _, _ := b.Run("cat", procFile)
		n, _ := RecentProcRead(name)
		if norm(k) != norm(n) {
			t.Errorf("%s: kernel\n%s\nnfgo\n%s", what, k, n)
		}
	}
	compare("recent list")
	b.MustRun(t, "sh", "-c", "echo +10.80.0.9 > "+procFile+" && echo +10.80.0.9 > "+procFile+" && echo -10.80.0.77 > "+procFile)
	RecentProcWrite(name, []byte("+10.80.0.9\n"), stAt(now+100))
	RecentProcWrite(name, []byte("+10.80.0.9\n"), stAt(now+100))
	RecentProcWrite(name, []byte("-10.80.0.77\n"), stAt(now+100))
	compare("after writes")
	if _, _, code := b.Run("sh", "-c", "echo 10.80.0.9 > "+procFile); code == 0 {
		t.Errorf("kernel accepted a write without +/-")
	}
}
