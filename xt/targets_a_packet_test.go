package xt

import (
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
