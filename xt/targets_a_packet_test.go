package xt

import (
	"fmt"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

type nflogSink struct {
	group  uint16
	prefix string
	n      int
}

func (s *nflogSink) Log(p *Pkt, level uint8, line []byte)                    {}
func (s *nflogSink) Trace(p *Pkt, table, chain, comment string, rulenum int) {}
func (s *nflogSink) NFLog(p *Pkt, group uint16, prefix string) {
	s.group, s.prefix = group, prefix
	s.n++
}

func TestNFLOGTargetEvent(t *testing.T) {
	sink := &nflogSink{}
	p := &Pkt{Events: sink}
	if err := p.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2})); err != nil {
		t.Fatal(err)
	}
	n := &NFLog{Group: 5, Prefix: "pfx "}
	if v := n.Target(p); v != VerdictContinue || sink.n != 1 || sink.group != 5 || sink.prefix != "pfx " {
		t.Fatalf("NFLOG: verdict %v, sink %+v", v, sink)
	}
	if a := testing.AllocsPerRun(100, func() { n.Target(p) }); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}

// MARK, TOS and DSCP rewrite the packet as the kernel does; the checksum
// stays valid.
func TestRewriteTargets(t *testing.T) {
	p := &Pkt{}
	if err := p.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, TOS: 0x01, SrcPort: 1, DstPort: 2})); err != nil {
		t.Fatal(err)
	}
	(&MarkTarget{Mark: 0x2a, Mask: 0xffffffff}).Target(p)
	if p.Mark != 0x2a {
		t.Errorf("mark %x", p.Mark)
	}
	(&TOSTarget{TOSValue: 0x10, TOSMask: 0x3f}).Target(p)
	if p.B[1] != 0x10 { // (0x01 &^ 0x3f) ^ 0x10
		t.Errorf("tos %02x", p.B[1])
	}
	(&DSCPTarget{DSCP: 0x0a}).Target(p)
	if p.B[1] != 0x28 || p.TOS != 0x28 { // DSCP 0x0a, ECN bits of 0x10 (none) kept
		t.Errorf("dscp %02x", p.B[1])
	}
	if packet.Checksum16(p.B[:20], 0) != 0 {
		t.Errorf("IP header checksum broken after rewrites")
	}
}

// TTL sets, raises and lowers the TTL, saturating at 255 and 0, with the
// header checksum kept valid and the parsed TTL (which the forward path
// reads) updated.
func TestTTLTarget(t *testing.T) {
	for _, c := range []struct {
		mode, val, from, want uint8
	}{
		{TTLSet, 5, 64, 5}, {TTLSet, 64, 64, 64}, {TTLInc, 1, 64, 65}, {TTLInc, 250, 64, 255},
		{TTLDec, 5, 64, 59}, {TTLDec, 100, 64, 0}, {TTLDec, 1, 1, 0},
	} {
		p := &Pkt{}
		if err := p.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, TTL: c.from, SrcPort: 1, DstPort: 2})); err != nil {
			t.Fatal(err)
		}
		tg := &TTLTarget{Mode: c.mode, TTL: c.val}
		if v := tg.Target(p); v != VerdictContinue || p.B[8] != c.want || p.TTL != c.want {
			t.Errorf("mode %d %d on TTL %d: verdict %v, TTL %d (parsed %d), want %d", c.mode, c.val, c.from, v, p.B[8], p.TTL, c.want)
		}
		if packet.Checksum16(p.B[:20], 0) != 0 {
			t.Errorf("mode %d %d on TTL %d: IP header checksum broken", c.mode, c.val, c.from)
		}
	}
}

// quota spends each matching packet's length; the first packet that does
// not fit empties it for good; the inversion swaps the answer only.
func TestQuotaMatch(t *testing.T) {
	p := &Pkt{}
	if err := p.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, PayloadLen: 72})); err != nil {
		t.Fatal(err)
	}
	small := &Pkt{}
	if err := small.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2})); err != nil {
		t.Fatal(err)
	}
	q, inv := &Quota{Quota: 250}, &Quota{Quota: 250, Invert: true}
	var got, gotInv []bool
	for _, pk := range []*Pkt{p, p, p, small} { // 100, 100, 100 (does not fit), 28
		got = append(got, q.Match(pk))
		gotInv = append(gotInv, inv.Match(pk))
	}
	if want := []bool{true, true, false, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("quota 250: %v, want %v", got, want)
	}
	if want := []bool{false, false, true, true}; fmt.Sprint(gotInv) != fmt.Sprint(want) {
		t.Errorf("! quota 250: %v, want %v", gotInv, want)
	}
	if a := testing.AllocsPerRun(100, func() { q.Match(p) }); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}

// CHECKSUM completes a partial checksum, leaves a GSO super-packet's (its
// segments get theirs) and a complete one alone.
func TestChecksumTarget(t *testing.T) {
	build := func() *Pkt {
		p := &Pkt{}
		if err := p.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, SrcPort: 67, DstPort: 68, PayloadLen: 40})); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tg := &ChecksumTarget{Fill: true}
	p := build()
	want := append([]byte(nil), p.B...)
	tg.Target(p)
	if string(p.B) != string(want) {
		t.Error("a complete checksum was changed")
	}
	// A partial checksum: the field holds the pseudo-header sum only.
	p = build()
	pseudo := packet.CsumAdd(packet.CsumAdd(1, 2), uint32(packet.ProtoUDP)+uint32(len(p.B)-20))
	s := pseudo&0xFFFF + pseudo>>16
	p.B[26], p.B[27] = byte(s>>8), byte(s)
	p.CsumPartial = true
	gso := build()
	copy(gso.B, p.B)
	gso.CsumPartial, gso.GSOSize = true, 1000
	tg.Target(p)
	if p.CsumPartial || string(p.B) != string(want) {
		t.Errorf("partial checksum not completed as the sender would: %x, want %x", p.B[26:28], want[26:28])
	}
	tg.Target(gso)
	if !gso.CsumPartial || gso.B[26] != byte(s>>8) || gso.B[27] != byte(s) {
		t.Error("a GSO super-packet's partial checksum was touched")
	}
}

// ECN rewrites the codepoint and the TCP flags with both checksums kept
// valid; the ecn match then sees what it wrote.
func TestECNTargetAndMatch(t *testing.T) {
	p := &Pkt{}
	if err := p.Decode(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoTCP, TOS: 0x02, SrcPort: 1, DstPort: 2, TCPFlags: 0xc2, PayloadLen: 5})); err != nil {
		t.Fatal(err)
	}
	ece := &ECN{Operation: ECNMatchECE}
	ect3 := &ECN{Operation: ECNMatchIP | ECNMatchCWR, Invert: ECNMatchCWR, IPECT: 3}
	if !ece.Match(p) || ect3.Match(p) {
		t.Fatalf("before: ece %v, ect3 !cwr %v", ece.Match(p), ect3.Match(p))
	}
	(&ECNTarget{Operation: ECNSetIP | ECNSetCWR, IPECT: 3}).Target(p)
	if p.B[1] != 0x03 || p.B[20+13] != 0x42 {
		t.Fatalf("tos %02x, tcp flags %02x; want 03, 42", p.B[1], p.B[33])
	}
	if !ece.Match(p) || !ect3.Match(p) {
		t.Errorf("after: ece %v, ect3 !cwr %v", ece.Match(p), ect3.Match(p))
	}
	(&ECNTarget{Operation: ECNSetECE | ECNSetCWR}).Target(p) // --ecn-tcp-remove
	if p.B[33] != 0x02 || ece.Match(p) {
		t.Errorf("remove: tcp flags %02x", p.B[33])
	}
	if packet.Checksum16(p.B[:20], 0) != 0 {
		t.Error("IP header checksum broken")
	}
	seg := p.B[20:]
	if packet.Checksum16(seg, 1+2+uint32(packet.ProtoTCP)+uint32(len(seg))) != 0 {
		t.Error("TCP checksum broken")
	}
	tg := &ECNTarget{Operation: ECNSetECE, ECE: 1}
	if a := testing.AllocsPerRun(100, func() { ect3.Match(p); tg.Target(p) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
