package xt

import (
	"strings"
	"testing"

	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

// The set match and SET target on the three-dimensional types
// (hash_ipportip4_kadt, hash_ipportnet4_kadt): the first direction's
// address, the second direction's port and the third direction's address;
// a rule with fewer directions than the type never matches, adds or
// deletes (the kernel takes such rules: ip_set_test/add/del refuse them
// per packet). The expectations were checked against the kernel in a
// namespace (iptables-legacy, SET --add-set n src,dst,dst on loopback TCP:
// the element takes the set's longest prefix, src,dst adds nothing).
func TestSetThreeDimPackets(t *testing.T) {
	now := int64(1e18)
	reg := ipset.NewRegistry()
	reg.Clock = func() int64 { return now }
	var out strings.Builder
	if _, err := reg.Restore("create i hash:ip,port,ip counters initval 0x1\n"+
		"add i 10.0.0.1,tcp:80,10.0.0.2\nadd i 10.0.0.1,icmp:echo-request,10.0.0.2\n"+
		"create n hash:ip,port,net initval 0x2\nadd n 10.0.0.1,tcp:80,192.168.0.0/16\n"+
		"add n 10.0.0.1,tcp:80,192.168.1.0/24 nomatch\nadd n 10.0.0.1,udp:53,0.0.0.0/1\n", false, &out); err != nil {
		t.Fatal(err)
	}
	old := Sets
	Sets = reg
	defer func() { Sets = old }()
	pkt := func(proto uint8, src, dst uint32, sport, dport uint16, frag uint16) *Pkt {
		p := &Pkt{Time: now, Hook: HookLocalOut}
		sp := &packet.Spec{Src: src, Dst: dst, Proto: proto, TTL: 64, SrcPort: sport, DstPort: dport, FragOffset: frag}
		if proto == 1 {
			sp.ICMPType = 8
		}
		if err := p.Decode(packet.Build(sp)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const (
		a1 = 0x0a000001 // 10.0.0.1
		a2 = 0x0a000002 // 10.0.0.2
	)
	match := func(name, dirs string) *Set {
		m := &Set{SetName: name}
		for _, d := range strings.Split(dirs, ",") {
			m.Dim++
			if d == "src" {
				m.SetFlags |= 1 << m.Dim
			}
		}
		if err := m.Bind(); err != nil {
			t.Fatal(err)
		}
		if err := m.PacketLogic(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		set, dirs string
		p         *Pkt
		want      bool
	}{
		{"i", "src,dst,dst", pkt(6, a1, a2, 1234, 80, 0), true},
		{"i", "src,dst,dst,src,src,src", pkt(6, a1, a2, 1234, 80, 0), true}, // extra directions ignored
		{"i", "src,dst", pkt(6, a1, a2, 1234, 80, 0), false},                // fewer than three: no match
		{"i", "src", pkt(6, a1, a2, 1234, 80, 0), false},
		{"i", "src,dst,src", pkt(6, a1, a2, 1234, 80, 0), false}, // third part 10.0.0.1
		{"i", "dst,src,src", pkt(6, a2, a1, 80, 1234, 0), true},  // the reply
		{"i", "src,dst,dst", pkt(6, a1, a2, 80, 1234, 0), false},
		{"i", "src,dst,dst", pkt(17, a1, a2, 1234, 80, 0), false},
		{"i", "src,dst,dst", pkt(6, a1, a2, 1234, 80, 10), false}, // non-first fragment: no port
		{"i", "src,src,dst", pkt(1, a1, a2, 0, 0, 0), true},       // ICMP echo request: type<<8|code
		{"n", "src,dst,dst", pkt(6, a1, 0xc0a80203, 1, 80, 0), true},
		{"n", "src,dst,dst", pkt(6, a1, 0xc0a80103, 1, 80, 0), false}, // the /24 nomatch decides
		{"n", "src,dst,dst", pkt(6, a1, 0xc0a90203, 1, 80, 0), false},
		{"n", "src,dst,dst", pkt(17, a1, 0x7f000001, 1, 53, 0), true}, // 0.0.0.0/1
		{"n", "src,dst,dst", pkt(17, a1, 0x80000001, 1, 53, 0), false},
		{"n", "src,dst", pkt(6, a1, 0xc0a80203, 1, 80, 0), false},
	} {
		if got := match(c.set, c.dirs).Match(c.p); got != c.want {
			t.Errorf("%s %s proto %d %x -> %x: got %v", c.set, c.dirs, c.p.Proto, c.p.Src, c.p.Dst, got)
		}
	}
	list := func(name string) string {
		var l strings.Builder
		reg.Get(name).WriteList(&l, ipset.ListFlags{Mode: ipset.OutSave, Sorted: true}, true)
		return l.String()
	}
	// The matches that hit counted their 28- and 40-byte packets.
	if got, want := list("i"), "create i hash:ip,port,ip family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x00000001\n"+
		"add i 10.0.0.1,tcp:80,10.0.0.2 packets 3 bytes 120\nadd i 10.0.0.1,icmp:echo-request,10.0.0.2 packets 1 bytes 28\n"; got != want {
		t.Errorf("counters:\n%s", got)
	}

	// SET --add-set n src,dst,dst: the third part under the longest prefix
	// present (/24); --add-set n src,dst adds nothing; --del-set i
	// dst,dst,src deletes the reply's element.
	target := func(add, del, dirs string) *SetTarget {
		x := &SetTarget{Timeout: 0xFFFFFFFF}
		info := SetInfo{}
		for _, d := range strings.Split(dirs, ",") {
			info.Dim++
			if d == "src" {
				info.Flags |= 1 << info.Dim
			}
		}
		if add != "" {
			info.Name = add
			x.AddSet = info
		} else {
			info.Name = del
			x.DelSet = info
		}
		if err := x.Bind(); err != nil {
			t.Fatal(err)
		}
		return x
	}
	target("n", "", "src,dst,dst").Target(pkt(6, 0x7f000001, 0x7f000001, 43564, 81, 0))
	target("n", "", "src,dst").Target(pkt(6, 0x7f000001, 0x7f000002, 43564, 82, 0))
	target("n", "", "src,src,dst").Target(pkt(1, a1, a2, 0, 0, 0))
	target("", "i", "dst,src,src").Target(pkt(6, a2, a1, 80, 1234, 0))
	target("", "i", "dst,src").Target(pkt(1, a2, a1, 0, 0, 0)) // two directions: nothing deleted
	if got, want := list("n"), "create n hash:ip,port,net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x00000002\n"+
		"add n 10.0.0.1,tcp:80,192.168.0.0/16\nadd n 10.0.0.1,tcp:80,192.168.1.0/24 nomatch\nadd n 10.0.0.1,udp:53,0.0.0.0/1\n"+
		"add n 10.0.0.1,icmp:echo-request,10.0.0.0/24\nadd n 127.0.0.1,tcp:81,127.0.0.0/24\n"; got != want {
		t.Errorf("SET --add-set:\n%s", got)
	}
	if got, want := list("i"), "create i hash:ip,port,ip family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x00000001\n"+
		"add i 10.0.0.1,icmp:echo-request,10.0.0.2 packets 1 bytes 28\n"; got != want {
		t.Errorf("SET --del-set:\n%s", got)
	}
}
