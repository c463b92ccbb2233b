package xt

import (
	"strings"
	"testing"

	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

// The set match and SET target on bitmap:ip sets (bitmap_ip_kadt): the
// address of the first direction, masked by the set's netmask, must be
// within the set's range; out of range is no match and no add.
func TestSetBitmapIPPackets(t *testing.T) {
	now := int64(1e18)
	reg := ipset.NewRegistry()
	reg.Clock = func() int64 { return now }
	var out strings.Builder
	if _, err := reg.Restore("create b bitmap:ip range 10.0.0.0/16 netmask 24 counters\nadd b 10.0.1.7\n"+
		"create h bitmap:ip range 192.168.0.0-192.168.0.9 timeout 100\n", false, &out); err != nil {
		t.Fatal(err)
	}
	old := Sets
	Sets = reg
	defer func() { Sets = old }()
	pkt := func(src, dst uint32) *Pkt {
		p := &Pkt{Time: now, Hook: HookLocalIn}
		if err := p.Decode(packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: 17, TTL: 64, SrcPort: 5, DstPort: 53})); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := &Set{SetName: "b", Dim: 1, SetFlags: 1 << 1}
	dst := &Set{SetName: "b", Dim: 1}
	for _, m := range []*Set{src, dst} {
		if err := m.Bind(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		m        *Set
		src, dst uint32
		want     bool
	}{
		{src, 0x0a0001fe, 0x01010101, true},  // 10.0.1.254: same /24 as 10.0.1.7 (28-byte packets)
		{src, 0x0a000201, 0x01010101, false}, // 10.0.2.1
		{src, 0x01010101, 0x0a000101, false}, // src not in the set
		{dst, 0x01010101, 0x0a000101, true},
		{dst, 0x01010101, 0x0b000101, false}, // out of the range
	} {
		if got := c.m.Match(pkt(c.src, c.dst)); got != c.want {
			t.Errorf("match %x -> %x (src %v): got %v", c.src, c.dst, c.m.SetFlags != 0, got)
		}
	}
	var l strings.Builder
	reg.Get("b").WriteList(&l, ipset.ListFlags{Mode: ipset.OutSave}, true)
	if want := "create b bitmap:ip range 10.0.0.0-10.0.255.255 netmask 24 counters\nadd b 10.0.1.0 packets 2 bytes 56\n"; l.String() != want {
		t.Errorf("counters after two matches:\n%s", l.String())
	}

	// SET --add-set h src --timeout 5, then --del-set h dst.
	add := &SetTarget{AddSet: SetInfo{Name: "h", Dim: 1, Flags: 1 << 1}, Timeout: 5}
	del := &SetTarget{DelSet: SetInfo{Name: "h", Dim: 1}, Timeout: 0xFFFFFFFF}
	for _, x := range []*SetTarget{add, del} {
		if err := x.Bind(); err != nil {
			t.Fatal(err)
		}
	}
	add.Target(pkt(0xc0a80003, 0x01010101)) // 192.168.0.3: added
	add.Target(pkt(0xc0a8000a, 0x01010101)) // 192.168.0.10: out of the range
	add.Target(pkt(0xc0a80009, 0x01010101))
	del.Target(pkt(0x01010101, 0xc0a80009))
	l.Reset()
	reg.Get("h").WriteList(&l, ipset.ListFlags{Mode: ipset.OutSave}, true)
	if want := "create h bitmap:ip range 192.168.0.0-192.168.0.9 timeout 100\nadd h 192.168.0.3 timeout 5\n"; l.String() != want {
		t.Errorf("SET target:\n%s", l.String())
	}
}
