package xt

import (
	"strings"
	"testing"

	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

func lsRegistry(t *testing.T, now *int64, text string) *ipset.Registry {
	t.Helper()
	reg := ipset.NewRegistry()
	reg.Clock = func() int64 { return *now }
	var out strings.Builder
	if _, err := reg.Restore(text, false, &out); err != nil {
		t.Fatal(err)
	}
	old := Sets
	Sets = reg
	t.Cleanup(func() { Sets = old })
	return reg
}

func lsSave(reg *ipset.Registry, name string) string {
	var l strings.Builder
	reg.Get(name).WriteList(&l, ipset.ListFlags{Mode: ipset.OutSave}, true)
	return l.String()
}

// lsUDP is a UDP packet src:5 -> dst:53 received at hook with the
// Ethernet header hdr (nil: none, as for a locally generated packet).
func lsUDP(t *testing.T, now int64, src, dst uint32, hdr []byte) *Pkt {
	t.Helper()
	p := &Pkt{Time: now, Hook: HookPreRouting, MAC: hdr, InEther: hdr != nil, InHardHeaderLen: len(hdr)}
	if err := p.Decode(packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: 17, TTL: 64, SrcPort: 5, DstPort: 53})); err != nil {
		t.Fatal(err)
	}
	return p
}

func lsEth(dst, src [6]byte) []byte {
	return append(append(append([]byte{}, dst[:]...), src[:]...), 0x08, 0x00)
}

// The set match over a list:set (list_set_ktest): the members are tried
// in order, each with its own type's element from the packet; the first
// that matches decides, and both its counters and the list element's are
// bumped.
func TestSetListSetMatch(t *testing.T) {
	now := int64(1e18)
	reg := lsRegistry(t, &now, "create a hash:ip counters\nadd a 10.0.0.1\n"+
		"create b hash:ip,port counters\nadd b 10.0.0.2,udp:53\nadd b 10.0.0.1,udp:53\n"+
		"create l list:set counters\nadd l a\nadd l b\n")
	m := &Set{SetName: "l", Dim: 2} // dst,dst
	if err := m.Bind(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dst  uint32
		want bool
	}{
		{0x0a000001, true},  // in a (b holds it too, but a comes first)
		{0x0a000002, true},  // only in b, with the port
		{0x0a000003, false}, // in neither
	} {
		if got := m.Match(lsUDP(t, now, 0x01010101, c.dst, nil)); got != c.want {
			t.Errorf("dst %x: got %v", c.dst, got)
		}
	}
	if got, want := lsSave(reg, "l"), "create l list:set size 8 counters\nadd l a packets 1 bytes 28\nadd l b packets 1 bytes 28\n"; got != want {
		t.Errorf("list counters:\n%s", got)
	}
	if got, want := lsSave(reg, "b"), "add b 10.0.0.1,udp:53 packets 0 bytes 0\n"; !strings.Contains(got, want) {
		t.Errorf("b's 10.0.0.1 was tested although a matched first:\n%s", got)
	}
	// One direction: the two-dimensional member b never matches.
	one := &Set{SetName: "l", Dim: 1}
	if err := one.Bind(); err != nil {
		t.Fatal(err)
	}
	if one.Match(lsUDP(t, now, 0x01010101, 0x0a000002, nil)) {
		t.Error("10.0.0.2 matched with one direction")
	}
	// ! --update-subcounters: the member's counters stay, the list's move;
	// --packets-gt compares the list element's counters only.
	sub := &Set{SetName: "l", Dim: 2, Flags: IPSetFlagSkipSubcounterUpd, Packets: SetCounterMatch{Op: IPSetCounterGT, Value: 1}}
	if err := sub.Bind(); err != nil {
		t.Fatal(err)
	}
	if !sub.Match(lsUDP(t, now, 0x01010101, 0x0a000001, nil)) {
		t.Error("second packet to a: the list element has 2 packets > 1")
	}
	if got, want := lsSave(reg, "a"), "add a 10.0.0.1 packets 1 bytes 28\n"; !strings.HasSuffix(got, want) {
		t.Errorf("a's counters moved under ! --update-subcounters:\n%s", got)
	}
}

// The SET target over a list:set (list_set_kadd / list_set_kdel): the
// element goes to the first member that accepts it; a member that already
// has it (without --exist) or cannot hold it passes it on.
func TestSetListSetTarget(t *testing.T) {
	now := int64(1e18)
	reg := lsRegistry(t, &now, "create r bitmap:ip range 10.0.0.0/24\ncreate h hash:ip\ncreate l list:set\nadd l r\nadd l h\n")
	add := &SetTarget{AddSet: SetInfo{Name: "l", Dim: 1, Flags: 1 << 1}, Timeout: 0xFFFFFFFF}
	del := &SetTarget{DelSet: SetInfo{Name: "l", Dim: 1, Flags: 1 << 1}, Timeout: 0xFFFFFFFF}
	for _, x := range []*SetTarget{add, del} {
		if err := x.Bind(); err != nil {
			t.Fatal(err)
		}
	}
	add.Target(lsUDP(t, now, 0x0a000005, 0x01010101, nil)) // 10.0.0.5: into r
	add.Target(lsUDP(t, now, 0xc0a80001, 0x01010101, nil)) // 192.168.0.1: out of r's range, into h
	add.Target(lsUDP(t, now, 0x0a000005, 0x01010101, nil)) // already in r: on to h
	if got, want := lsSave(reg, "r"), "create r bitmap:ip range 10.0.0.0-10.0.0.255\nadd r 10.0.0.5\n"; got != want {
		t.Errorf("r:\n%s", got)
	}
	var l strings.Builder
	reg.Get("h").WriteList(&l, ipset.ListFlags{Mode: ipset.OutSave, Sorted: true}, true)
	if got := l.String(); !strings.HasSuffix(got, "add h 10.0.0.5\nadd h 192.168.0.1\n") {
		t.Errorf("h:\n%s", got)
	}
	del.Target(lsUDP(t, now, 0x0a000005, 0x01010101, nil)) // deleted from r only
	if got := reg.Get("r").Len(); got != 0 {
		t.Errorf("r has %d elements after the delete", got)
	}
	if got := reg.Get("h").Len(); got != 2 {
		t.Errorf("h has %d elements, want 2 (the delete stops at r)", got)
	}
}

// bitmap:ip,mac on the packet path (bitmap_ipmac_kadt): the address of
// the first direction, the MAC of the second from the Ethernet header; an
// element added without MAC is completed by the first packet tested.
func TestSetBitmapIPMACPackets(t *testing.T) {
	now := int64(1e18)
	reg := lsRegistry(t, &now, "create m bitmap:ip,mac range 10.0.0.0/24 counters\nadd m 10.0.0.1\nadd m 10.0.0.2,00:11:22:33:44:55\n")
	src := &Set{SetName: "m", Dim: 2, SetFlags: 1<<1 | 1<<2}
	one := &Set{SetName: "m", Dim: 1, SetFlags: 1 << 1}
	for _, m := range []*Set{src, one} {
		if err := m.Bind(); err != nil {
			t.Fatal(err)
		}
	}
	gw := [6]byte{0xfe, 0, 0, 0, 0, 1}
	a := [6]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	b := [6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	for _, c := range []struct {
		what string
		src  uint32
		hdr  []byte
		m    *Set
		want bool
	}{
		{"no link-layer header", 0x0a000001, nil, src, false},
		{"zero source MAC", 0x0a000001, lsEth(gw, [6]byte{}), src, false},
		{"one direction", 0x0a000001, lsEth(gw, a), one, false},
		{"unfilled: filled with aa:..", 0x0a000001, lsEth(gw, a), src, true},
		{"filled: other MAC", 0x0a000001, lsEth(gw, b), src, false},
		{"filled: same MAC", 0x0a000001, lsEth(gw, a), src, true},
		{"given MAC", 0x0a000002, lsEth(gw, b), src, true},
		{"given MAC, other", 0x0a000002, lsEth(gw, a), src, false},
		{"not in the set", 0x0a000003, lsEth(gw, a), src, false},
		{"out of the range", 0x0b000001, lsEth(gw, a), src, false},
	} {
		if got := c.m.Match(lsUDP(t, now, c.src, 0x01010101, c.hdr)); got != c.want {
			t.Errorf("%s: got %v", c.what, got)
		}
	}
	want := "create m bitmap:ip,mac range 10.0.0.0-10.0.0.255 counters\n" +
		"add m 10.0.0.1,AA:BB:CC:DD:EE:FF packets 2 bytes 56\nadd m 10.0.0.2,00:11:22:33:44:55 packets 1 bytes 28\n"
	if got := lsSave(reg, "m"); got != want {
		t.Errorf("after the packets:\n%s", got)
	}
	// SET --add-set m src,src then --del-set m src,src.
	add := &SetTarget{AddSet: SetInfo{Name: "m", Dim: 2, Flags: 1<<1 | 1<<2}, Timeout: 0xFFFFFFFF}
	del := &SetTarget{DelSet: SetInfo{Name: "m", Dim: 2, Flags: 1<<1 | 1<<2}, Timeout: 0xFFFFFFFF}
	for _, x := range []*SetTarget{add, del} {
		if err := x.Bind(); err != nil {
			t.Fatal(err)
		}
	}
	add.Target(lsUDP(t, now, 0x0a000007, 0x01010101, lsEth(gw, b)))
	add.Target(lsUDP(t, now, 0x0a000008, 0x01010101, nil))          // no header: nothing
	del.Target(lsUDP(t, now, 0x0a000002, 0x01010101, lsEth(gw, a))) // the MAC is not compared
	want = "create m bitmap:ip,mac range 10.0.0.0-10.0.0.255 counters\n" +
		"add m 10.0.0.1,AA:BB:CC:DD:EE:FF packets 2 bytes 56\nadd m 10.0.0.7,00:11:22:33:44:55 packets 1 bytes 28\n"
	if got := lsSave(reg, "m"); got != want {
		t.Errorf("after the SET target:\n%s", got)
	}
}
