package conntrack

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

const (
	cli = 0x0a000001 // 10.0.0.1
	srv = 0x0a000002 // 10.0.0.2
	sec = int64(1e9)
	t0  = int64(1_700_000_000) * sec
)

func pkt(t testing.TB, s packet.Spec) *packet.Parsed {
	t.Helper()
	var p packet.Parsed
	if err := p.Decode(packet.Build(&s)); err != nil {
		t.Fatal(err)
	}
	return &p
}

func tcpPkt(t testing.TB, fromCli bool, flags uint8, seq, ack uint32, n int) *packet.Parsed {
	s := packet.Spec{Src: cli, Dst: srv, SrcPort: 40000, DstPort: 22, Proto: packet.ProtoTCP,
		TCPFlags: flags, Seq: seq, Ack: ack, PayloadLen: n}
	if !fromCli {
		s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, 22, 40000
	}
	return pkt(t, s)
}

func newTable() *Table {
	c := DefaultConfig()
	c.Buckets = 1024
	return NewTable(c)
}

// step runs one packet through In and, when accepted with an entry,
// Confirm, as the engine does for a packet that passes every hook.
func step(t testing.TB, tb *Table, p *packet.Parsed, now int64) (CtInfo, *Conn) {
	t.Helper()
	ci, ct := tb.In(p, now, 0)
	if ct != nil {
		var ok bool
		ct, ok = tb.Confirm(ct, ci, now)
		if !ok {
			t.Fatalf("confirm refused")
		}
	}
	return ci, ct
}

func list(tb *Table, now int64) string {
	var b bytes.Buffer
	tb.WriteList(&b, now)
	return b.String()
}

func expect(t *testing.T, what string, ci CtInfo, ct *Conn, wantCi CtInfo, state uint8, expires uint32, now int64) {
	t.Helper()
	if ci != wantCi {
		t.Fatalf("%s: ctinfo %v, want %v", what, ci, wantCi)
	}
	if ct == nil {
		if wantCi != Invalid && wantCi != Drop {
			t.Fatalf("%s: no entry", what)
		}
		return
	}
	if ct.Proto() == protoTCP && ct.TCPState() != state {
		t.Fatalf("%s: state %s, want %s", what, TCPStateNames[ct.TCPState()], TCPStateNames[state])
	}
	if got := ct.Expires(now); got != expires {
		t.Fatalf("%s: expires %d, want %d", what, got, expires)
	}
}

const (
	S = packet.TCPSyn
	A = packet.TCPAck
	F = packet.TCPFin
	R = packet.TCPRst
	P = packet.TCPPsh
)

// handshake opens 10.0.0.1:40000 -> 10.0.0.2:22 with ISNs 1000 / 5000.
func handshake(t *testing.T, tb *Table) *Conn {
	ci, ct := step(t, tb, tcpPkt(t, true, S, 1000, 0, 0), t0)
	expect(t, "syn", ci, ct, New, TCPSynSent, 120, t0)
	if got := list(tb, t0); got != "tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000 mark=0 use=1\n" {
		t.Fatalf("list after SYN:\n%s", got)
	}
	ci, ct = step(t, tb, tcpPkt(t, false, S|A, 5000, 1001, 0), t0)
	expect(t, "synack", ci, ct, EstablishedReply, TCPSynRecv, 60, t0)
	ci, ct = step(t, tb, tcpPkt(t, true, A, 1001, 5001, 0), t0)
	expect(t, "ack", ci, ct, Established, TCPEstablished, 432000, t0)
	if ct.Status()&StatusAssured == 0 {
		t.Fatal("not ASSURED after the handshake")
	}
	return ct
}

func TestTCPHandshakeData(t *testing.T) {
	tb := newTable()
	handshake(t, tb)
	now := t0 + sec/2
	if got := list(tb, now); got != "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000 [ASSURED] mark=0 use=1\n" {
		t.Fatalf("list:\n%s", got)
	}
	// Data not yet acknowledged: the timeout drops to "unacknowledged".
	ci, ct := step(t, tb, tcpPkt(t, true, A|P, 1001, 5001, 100), now)
	expect(t, "data", ci, ct, Established, TCPEstablished, 300, now)
	ci, ct = step(t, tb, tcpPkt(t, false, A, 5001, 1101, 0), now)
	expect(t, "ack of data", ci, ct, EstablishedReply, TCPEstablished, 432000, now)
	// Retransmission of already acknowledged data is still accepted.
	ci, ct = step(t, tb, tcpPkt(t, true, A|P, 1001, 5001, 100), now)
	expect(t, "retransmission", ci, ct, Established, TCPEstablished, 432000, now)
	if tb.Count() != 1 {
		t.Fatalf("count %d", tb.Count())
	}
}

func TestTCPFinClose(t *testing.T) {
	tb := newTable()
	handshake(t, tb)
	steps := []struct {
		fromCli  bool
		flags    uint8
		seq, ack uint32
		ci       CtInfo
		state    uint8
		expires  uint32
	}{
		{true, F | A, 1001, 5001, Established, TCPFinWait, 120},
		{false, A, 5001, 1002, EstablishedReply, TCPCloseWait, 60},
		{false, F | A, 5001, 1002, EstablishedReply, TCPLastAck, 30},
		{true, A, 1002, 5002, Established, TCPTimeWait, 120},
	}
	for i, s := range steps {
		ci, ct := step(t, tb, tcpPkt(t, s.fromCli, s.flags, s.seq, s.ack, 0), t0)
		expect(t, "fin step "+string(rune('0'+i)), ci, ct, s.ci, s.state, s.expires, t0)
	}
	// A new SYN on the same tuple in TIME_WAIT reopens: a fresh entry.
	old, _ := tb.Find(tupleOf(tcpPkt(t, true, S, 0, 0, 0)), 0, t0)
	ci, ct := step(t, tb, tcpPkt(t, true, S, 90000, 0, 0), t0+sec)
	expect(t, "reopen", ci, ct, New, TCPSynSent, 120, t0+sec)
	if ct == old || tb.Count() != 1 {
		t.Fatalf("reopen did not replace the entry (count %d)", tb.Count())
	}
}

func tupleOf(p *packet.Parsed) Tuple {
	var tp Tuple
	getTuple(p.Src, p.Dst, p.Proto, p.B[p.IHL:], &tp)
	return tp
}

func TestTCPRst(t *testing.T) {
	tb := newTable()
	handshake(t, tb)
	// A RST below the peer's highest ACK is invalid.
	ci, _ := step(t, tb, tcpPkt(t, true, R, 900, 0, 0), t0)
	if ci != Invalid {
		t.Fatalf("old RST: %v", ci)
	}
	ci, ct := step(t, tb, tcpPkt(t, true, R|A, 1001, 5001, 0), t0)
	expect(t, "rst", ci, ct, Established, TCPClose, 10, t0)
	if !strings.Contains(list(tb, t0), "10 CLOSE src=") {
		t.Fatalf("list: %s", list(tb, t0))
	}
	// After 10 s the entry is gone.
	if got := list(tb, t0+10*sec); got != "" {
		t.Fatalf("expired entry listed: %s", got)
	}
	if n := tb.GC(t0 + 10*sec); n != 1 || tb.Count() != 0 {
		t.Fatalf("gc %d count %d", n, tb.Count())
	}
}

func TestTCPRstToSyn(t *testing.T) {
	// Connection refused: the only reply is a RST, the entry is deleted.
	tb := newTable()
	step(t, tb, tcpPkt(t, true, S, 1000, 0, 0), t0)
	ci, ct := step(t, tb, tcpPkt(t, false, R|A, 0, 1001, 0), t0)
	if ci != EstablishedReply || ct == nil {
		t.Fatalf("rst reply: %v", ci)
	}
	if tb.Count() != 0 || list(tb, t0) != "" {
		t.Fatalf("entry survived the RST: %d", tb.Count())
	}
}

func TestTCPSimultaneousOpen(t *testing.T) {
	tb := newTable()
	steps := []struct {
		fromCli  bool
		flags    uint8
		seq, ack uint32
		ci       CtInfo
		state    uint8
	}{
		{true, S, 1000, 0, New, TCPSynSent},
		{false, S, 5000, 0, EstablishedReply, TCPSynSent2},
		{true, S | A, 1000, 5001, Established, TCPSynRecv},
		{false, S | A, 5000, 1001, EstablishedReply, TCPSynRecv}, // ignored
		{false, A, 5001, 1001, EstablishedReply, TCPEstablished},
	}
	var ct *Conn
	for i, s := range steps {
		var ci CtInfo
		ci, ct = step(t, tb, tcpPkt(t, s.fromCli, s.flags, s.seq, s.ack, 0), t0)
		if ci != s.ci || ct == nil || ct.TCPState() != s.state {
			t.Fatalf("step %d: %v state %v", i, ci, ct)
		}
	}
	if ct.Status()&StatusAssured == 0 {
		t.Fatal("simultaneous open not ASSURED")
	}
}

func TestTCPOutOfWindow(t *testing.T) {
	tb := newTable()
	handshake(t, tb)
	cases := []struct {
		name     string
		fromCli  bool
		flags    uint8
		seq, ack uint32
		n        int
	}{
		{"seq beyond the window", true, A | P, 1001 + 10_000_000, 5001, 10},
		{"ack of unsent data", true, A, 1001, 5001 + 100_000, 0},
		{"reply seq beyond the window", false, A, 5001 + 10_000_000, 1001, 0},
		{"syn-ack from the client", true, S | A, 1000, 5001, 0},
		{"no flags", true, 0, 1001, 0, 0},
		{"syn+fin", true, S | F, 1001, 0, 0},
	}
	for _, c := range cases {
		ci, ct := step(t, tb, tcpPkt(t, c.fromCli, c.flags, c.seq, c.ack, c.n), t0)
		if ci != Invalid || ct != nil {
			t.Errorf("%s: %v", c.name, ci)
		}
	}
	// The entry is unharmed.
	ci, ct := step(t, tb, tcpPkt(t, true, A, 1001, 5001, 0), t0)
	expect(t, "after", ci, ct, Established, TCPEstablished, 432000, t0)
	// SYN in ESTABLISHED is ignored (accepted, state kept).
	ci, ct = step(t, tb, tcpPkt(t, true, S, 777, 0, 0), t0)
	expect(t, "syn in established", ci, ct, Established, TCPEstablished, 432000, t0)
}

func TestTCPInvalidNew(t *testing.T) {
	tb := newTable()
	for _, f := range []uint8{R, S | A, F | A, R | A} {
		ci, ct := step(t, tb, tcpPkt(t, true, f, 1, 1, 0), t0)
		if ci != Invalid || ct != nil {
			t.Errorf("flags %#x: %v", f, ci)
		}
	}
	if tb.Count() != 0 {
		t.Fatal(tb.Count())
	}
	// Truncated header.
	p := tcpPkt(t, true, S, 1, 0, 0)
	p.B = p.B[:30]
	if ci, _ := tb.In(p, t0, 0); ci != Invalid {
		t.Fatal(ci)
	}
	// Bad checksum at PREROUTING, fine at OUTPUT.
	p = tcpPkt(t, true, S, 1, 0, 0)
	p.B[p.IHL+16] ^= 0xFF
	if ci, _ := tb.In(p, t0, 0); ci != Invalid {
		t.Fatal("bad checksum accepted at PREROUTING")
	}
	if ci, _ := tb.InLocal(p, t0, 0); ci != New {
		t.Fatal("checksum checked at OUTPUT")
	}
}

func TestTCPMidStreamPickup(t *testing.T) {
	tb := newTable()
	ci, ct := step(t, tb, tcpPkt(t, true, A|P, 1001, 5001, 50), t0)
	expect(t, "pickup", ci, ct, New, TCPEstablished, 300, t0)
	if !strings.Contains(list(tb, t0), "[UNREPLIED]") {
		t.Fatal(list(tb, t0))
	}
	ci, ct = step(t, tb, tcpPkt(t, false, A, 5001, 1051, 0), t0)
	expect(t, "reply", ci, ct, EstablishedReply, TCPEstablished, 300, t0)
	if ct.Status()&StatusAssured != 0 {
		t.Fatal("assured too early")
	}
	ci, ct = step(t, tb, tcpPkt(t, true, A, 1051, 5001, 0), t0)
	expect(t, "next", ci, ct, Established, TCPEstablished, 432000, t0)
	if ct.Status()&StatusAssured == 0 {
		t.Fatal("not assured")
	}
	// With nf_conntrack_tcp_loose=0 there is no pickup.
	c := DefaultConfig()
	c.Buckets = 64
	c.TCPLoose = false
	tb = NewTable(c)
	if ci, _ := step(t, tb, tcpPkt(t, true, A, 1001, 5001, 0), t0); ci != Invalid {
		t.Fatal(ci)
	}
}

func TestUnconfirmedInvisible(t *testing.T) {
	tb := newTable()
	syn := tcpPkt(t, true, S, 1000, 0, 0)
	ci1, ct1 := tb.In(syn, t0, 0)
	ci2, ct2 := tb.In(syn, t0, 0)
	if ci1 != New || ci2 != New || ct1 == ct2 || tb.Count() != 0 {
		t.Fatalf("%v %v count %d", ci1, ci2, tb.Count())
	}
	// The first packet was dropped: nothing remains. The second is
	// confirmed; a third sees it (NEW again: no reply yet).
	if _, ok := tb.Confirm(ct2, ci2, t0); !ok {
		t.Fatal("confirm")
	}
	ci3, ct3 := tb.In(syn, t0, 0)
	if ci3 != New || ct3 != ct2 || tb.Count() != 1 {
		t.Fatalf("%v", ci3)
	}
	// SYN retransmission does not renew the timeout.
	if ct3.Expires(t0+5*sec) != 115 {
		t.Fatal(ct3.Expires(t0 + 5*sec))
	}
	step(t, tb, syn, t0+5*sec)
	if ct3.Expires(t0+5*sec) != 115 {
		t.Fatal("SYN retransmission renewed the timeout")
	}
}

func udpPkt(t testing.TB, fromCli bool, sport, dport uint16) *packet.Parsed {
	s := packet.Spec{Src: cli, Dst: srv, SrcPort: sport, DstPort: dport, Proto: packet.ProtoUDP, PayloadLen: 8}
	if !fromCli {
		s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, dport, sport
	}
	return pkt(t, s)
}

func TestUDP(t *testing.T) {
	tb := newTable()
	ci, ct := step(t, tb, udpPkt(t, true, 5000, 53), t0)
	expect(t, "request", ci, ct, New, 0, 30, t0)
	want := "udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 use=1\n"
	if got := list(tb, t0); got != want {
		t.Fatalf("got  %swant %s", got, want)
	}
	ci, ct = step(t, tb, udpPkt(t, false, 5000, 53), t0+sec)
	expect(t, "reply", ci, ct, EstablishedReply, 0, 30, t0+sec)
	if ct.Status()&StatusAssured != 0 {
		t.Fatal("assured within 2 s")
	}
	ci, ct = step(t, tb, udpPkt(t, true, 5000, 53), t0+2*sec)
	expect(t, "at 2s", ci, ct, Established, 0, 30, t0+2*sec)
	ci, ct = step(t, tb, udpPkt(t, true, 5000, 53), t0+3*sec)
	expect(t, "stream", ci, ct, Established, 0, 120, t0+3*sec)
	want = "udp      17 119 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 [ASSURED] mark=0 use=1\n"
	if got := list(tb, t0+4*sec); got != want {
		t.Fatalf("got  %swant %s", got, want)
	}
	ct.SetMark(7)
	if !strings.Contains(list(tb, t0), "mark=7 use=1") {
		t.Fatal(list(tb, t0))
	}
	// Expiry on the clock: 120 s later it is gone and a packet is NEW.
	ci, ct2 := step(t, tb, udpPkt(t, true, 5000, 53), t0+3*sec+120*sec)
	if ci != New || ct2 == ct {
		t.Fatalf("after expiry: %v", ci)
	}
	// Malformed UDP length.
	p := udpPkt(t, true, 5001, 53)
	p.B[p.IHL+5] = 200
	if ci, _ := step(t, tb, p, t0); ci != Invalid {
		t.Fatal(ci)
	}
}

func icmpPkt(t testing.TB, src, dst uint32, typ, code uint8, id uint16, payload []byte) *packet.Parsed {
	s := packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoICMP, ICMPType: typ, ICMPCode: code, ICMPID: id, ICMPSeq: 1}
	b := packet.Build(&s)
	if payload != nil {
		b = append(b, payload...)
		b[2], b[3] = byte(len(b)>>8), byte(len(b))
		b[10], b[11] = 0, 0
		c := packet.Checksum16(b[:20], 0)
		b[10], b[11] = byte(c>>8), byte(c)
		b[22], b[23] = 0, 0
		c = packet.Checksum16(b[20:], 0)
		b[22], b[23] = byte(c>>8), byte(c)
	}
	var p packet.Parsed
	if err := p.Decode(b); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestICMPEcho(t *testing.T) {
	tb := newTable()
	// An echo reply alone is invalid.
	if ci, _ := step(t, tb, icmpPkt(t, srv, cli, 0, 0, 99, nil), t0); ci != Invalid {
		t.Fatal(ci)
	}
	ci, ct := step(t, tb, icmpPkt(t, cli, srv, 8, 0, 99, nil), t0)
	expect(t, "echo", ci, ct, New, 0, 30, t0)
	ci, ct = step(t, tb, icmpPkt(t, srv, cli, 0, 0, 99, nil), t0)
	expect(t, "echo reply", ci, ct, EstablishedReply, 0, 30, t0)
	want := "icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=99 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=99 mark=0 use=1\n"
	if got := list(tb, t0); got != want {
		t.Fatalf("got  %swant %s", got, want)
	}
	// Another id is another connection.
	if ci, _ := step(t, tb, icmpPkt(t, cli, srv, 8, 0, 100, nil), t0); ci != New {
		t.Fatal(ci)
	}
	// Unknown types are invalid.
	if ci, _ := step(t, tb, icmpPkt(t, cli, srv, 42, 0, 1, nil), t0); ci != Invalid {
		t.Fatal(ci)
	}
	// A router advertisement (no reply type) is invalid too.
	if ci, _ := step(t, tb, icmpPkt(t, cli, srv, 9, 0, 1, nil), t0); ci != Invalid {
		t.Fatal(ci)
	}
}

func TestICMPErrorRelated(t *testing.T) {
	tb := newTable()
	req := udpPkt(t, true, 5000, 53)
	_, ct := step(t, tb, req, t0)
	quote := req.B[:28]
	// Port unreachable from the server, quoting the request: RELATED in
	// the reply direction.
	ci, got := step(t, tb, icmpPkt(t, srv, cli, 3, 3, 0, quote), t0)
	if ci != RelatedReply || got != ct {
		t.Fatalf("unreachable: %v", ci)
	}
	if ct.Status()&StatusSeenReply != 0 {
		t.Fatal("RELATED set SEEN_REPLY")
	}
	// From a router on the way to the client (outer dst = client).
	if ci, _ := step(t, tb, icmpPkt(t, 0x0a0000fe, cli, 11, 0, 0, quote), t0); ci != RelatedReply {
		t.Fatal(ci)
	}
	// Outer destination not the quoted source: invalid.
	if ci, _ := step(t, tb, icmpPkt(t, srv, 0x0a000063, 3, 3, 0, quote), t0); ci != Invalid {
		t.Fatal(ci)
	}
	// Quoting the reply direction, sent towards the server: RELATED.
	rep := udpPkt(t, false, 5000, 53)
	if ci, got := step(t, tb, icmpPkt(t, cli, srv, 3, 1, 0, rep.B[:28]), t0); ci != Related || got != ct {
		t.Fatal(ci)
	}
	// Unknown connection.
	other := udpPkt(t, true, 5001, 53)
	if ci, _ := step(t, tb, icmpPkt(t, srv, cli, 3, 3, 0, other.B[:28]), t0); ci != Invalid {
		t.Fatal(ci)
	}
	// Truncated quote.
	if ci, _ := step(t, tb, icmpPkt(t, srv, cli, 3, 3, 0, quote[:22]), t0); ci != Invalid {
		t.Fatal(ci)
	}
	if tb.Count() != 1 {
		t.Fatal(tb.Count())
	}
}

func TestGeneric(t *testing.T) {
	tb := newTable()
	ci, ct := step(t, tb, pkt(t, packet.Spec{Src: cli, Dst: srv, Proto: 253, PayloadLen: 16}), t0)
	expect(t, "generic", ci, ct, New, 0, 600, t0)
	want := "unknown  253 600 src=10.0.0.1 dst=10.0.0.2 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 mark=0 use=1\n"
	if got := list(tb, t0); got != want {
		t.Fatalf("got  %swant %s", got, want)
	}
	ci, ct = step(t, tb, pkt(t, packet.Spec{Src: srv, Dst: cli, Proto: 253}), t0+sec)
	expect(t, "generic reply", ci, ct, EstablishedReply, 0, 600, t0+sec)
	var b bytes.Buffer
	tb.WriteProc(&b, t0+2*sec)
	want = "ipv4     2 unknown  253 599 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1 mark=0 zone=0 use=2\n"
	if b.String() != want {
		t.Fatalf("got  %swant %s", b.String(), want)
	}
	// GRE (version 0) is tracked with the GRE timeouts.
	ci, ct = step(t, tb, pkt(t, packet.Spec{Src: cli, Dst: srv, Proto: 47, PayloadLen: 4}), t0)
	expect(t, "gre", ci, ct, New, 0, 30, t0)
	b.Reset()
	tb.WriteProc(&b, t0)
	if !strings.Contains(b.String(), "ipv4     2 gre      47 30 timeout=30, stream_timeout=180 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x0 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 srckey=0x0 dstkey=0x0 mark=0 zone=0 use=2\n") {
		t.Fatal(b.String())
	}
}

func TestZones(t *testing.T) {
	tb := newTable()
	p := udpPkt(t, true, 5000, 53)
	ci, ct := tb.In(p, t0, 5)
	tb.Confirm(ct, ci, t0)
	if ci != New {
		t.Fatal(ci)
	}
	if ci, _ := step(t, tb, udpPkt(t, false, 5000, 53), t0); ci != New {
		t.Fatalf("zone 0 saw zone 5's entry: %v", ci)
	}
	if ci, got := tb.In(udpPkt(t, false, 5000, 53), t0, 5); ci != EstablishedReply || got != ct {
		t.Fatal(ci)
	}
	if !strings.Contains(list(tb, t0), "mark=0 zone=5 use=1") {
		t.Fatal(list(tb, t0))
	}
}

func TestEarlyDrop(t *testing.T) {
	c := DefaultConfig()
	c.Buckets = 4
	c.Max = 4
	tb := NewTable(c)
	var conns []*Conn
	for i := 0; i < 4; i++ {
		_, ct := step(t, tb, udpPkt(t, true, uint16(6000+i), 53), t0)
		conns = append(conns, ct)
	}
	// Full: a new flow early-drops unassured entries and gets in.
	ci, ct := step(t, tb, udpPkt(t, true, 7000, 53), t0)
	if ci != New || ct == nil {
		t.Fatalf("early drop: %v", ci)
	}
	if tb.Count() > 4 || tb.StatEarlyDrop.Load() == 0 {
		t.Fatalf("count %d early drops %d", tb.Count(), tb.StatEarlyDrop.Load())
	}
	// Fill with ASSURED entries only: nothing can be dropped, the packet is.
	tb = NewTable(c)
	for i := 0; i < 4; i++ {
		step(t, tb, udpPkt(t, true, uint16(6000+i), 53), t0)
		step(t, tb, udpPkt(t, false, uint16(6000+i), 53), t0)
		_, ct := step(t, tb, udpPkt(t, true, uint16(6000+i), 53), t0+3*sec)
		if ct.Status()&StatusAssured == 0 {
			t.Fatal("not assured")
		}
	}
	if ci, ct := step(t, tb, udpPkt(t, true, 7000, 53), t0+3*sec); ci != Drop || ct != nil {
		t.Fatalf("table full: %v", ci)
	}
	// Existing flows still pass.
	if ci, _ := step(t, tb, udpPkt(t, true, 6000, 53), t0+3*sec); ci != Established {
		t.Fatal(ci)
	}
	// Once they expire (gc), room again.
	if ci, _ := step(t, tb, udpPkt(t, true, 7000, 53), t0+200*sec); ci != New {
		t.Fatal(ci)
	}
}

func TestStateBits(t *testing.T) {
	for ci, want := range map[CtInfo]uint32{Invalid: 1, Established: 2, EstablishedReply: 2, Related: 4, RelatedReply: 4, New: 8, Untracked: 64} {
		if ci.StateBit() != want {
			t.Errorf("%v: %d", ci, ci.StateBit())
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	tb := newTable()
	handshake(t, tb)
	p := tcpPkt(t, true, A, 1001, 5001, 0)
	r := tcpPkt(t, false, A, 5001, 1001, 0)
	u := udpPkt(t, true, 5000, 53)
	ur := udpPkt(t, false, 5000, 53)
	step(t, tb, u, t0)
	step(t, tb, ur, t0)
	e := icmpPkt(t, cli, srv, 8, 0, 1, nil)
	step(t, tb, e, t0)
	n := testing.AllocsPerRun(200, func() {
		for _, q := range []*packet.Parsed{p, r, u, ur, e} {
			ci, ct := tb.In(q, t0, 0)
			if ct == nil {
				panic(ci.String())
			}
			tb.Confirm(ct, ci, t0)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

func TestConcurrent(t *testing.T) {
	tb := newTable()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				sport := uint16(10000 + g*1000 + i%50)
				now := t0 + int64(i)*sec/10
				step(t, tb, udpPkt(t, true, sport, 53), now)
				step(t, tb, udpPkt(t, false, sport, 53), now)
				var b bytes.Buffer
				if i%50 == 0 {
					tb.WriteList(&b, now)
				}
			}
		}(g)
	}
	wg.Wait()
	if tb.Count() != 8*50 {
		t.Fatal(tb.Count())
	}
}

func TestHostConfigFallback(t *testing.T) {
	old := SysctlDir
	SysctlDir = t.TempDir()
	defer func() { SysctlDir = old }()
	if HostConfig() != DefaultConfig() {
		t.Fatal("fallback differs from the defaults")
	}
	c := DefaultConfig()
	if c.TCPTimeouts[TCPEstablished] != 432000 || c.TCPTimeouts[TCPSynSent2] != 120 || c.UDPTimeoutStream != 120 || !c.TCPLoose || c.TCPBeLiberal {
		t.Fatalf("%+v", c)
	}
}

func TestConfirmClash(t *testing.T) {
	tb := newTable()
	// Two first packets of one UDP flow in flight at once: the second to
	// be confirmed merges into the first one's entry.
	u := udpPkt(t, true, 5000, 53)
	ci1, ct1 := tb.In(u, t0, 0)
	ci2, ct2 := tb.In(u, t0, 0)
	if w, ok := tb.Confirm(ct1, ci1, t0); !ok || w != ct1 {
		t.Fatal("first confirm")
	}
	if w, ok := tb.Confirm(ct2, ci2, t0); !ok || w != ct1 {
		t.Fatal("udp clash not merged")
	}
	// TCP does not allow clashes: the loser's packet is dropped.
	s := tcpPkt(t, true, S, 1000, 0, 0)
	ci1, ct1 = tb.In(s, t0, 0)
	ci2, ct2 = tb.In(s, t0, 0)
	tb.Confirm(ct1, ci1, t0)
	if _, ok := tb.Confirm(ct2, ci2, t0); ok {
		t.Fatal("tcp clash accepted")
	}
	if tb.Count() != 2 {
		t.Fatal(tb.Count())
	}
}

func TestAttachAndLocalFragments(t *testing.T) {
	if Attach(New) != RelatedReply || Attach(EstablishedReply) != Related {
		t.Fatal("Attach")
	}
	tb := newTable()
	f := pkt(t, packet.Spec{Src: cli, Dst: srv, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, MF: true, PayloadLen: 16})
	if ci, ct := tb.InLocal(f, t0, 0); ci != Invalid || ct != nil {
		t.Fatal(ci)
	}
	// A first fragment at PREROUTING is tracked as a whole packet would be
	// (the kernel would have reassembled it); later fragments are INVALID.
	f2 := pkt(t, packet.Spec{Src: cli, Dst: srv, Proto: packet.ProtoUDP, FragOffset: 3, PayloadLen: 16})
	if ci, _ := tb.In(f2, t0, 0); ci != Invalid {
		t.Fatal(ci)
	}
}

func TestICMPErrorForTCP(t *testing.T) {
	tb := newTable()
	handshake(t, tb)
	quote := tcpPkt(t, true, A, 1001, 5001, 0).B[:28]
	// Fragmentation needed from a router towards the client.
	ci, ct := step(t, tb, icmpPkt(t, 0x0a0000fe, cli, 3, 4, 0, quote), t0)
	if ci != RelatedReply || ct == nil || ct.TCPState() != TCPEstablished {
		t.Fatal(ci)
	}
	// An ICMP error about an ICMP echo.
	e := icmpPkt(t, cli, srv, 8, 0, 7, nil)
	_, ect := step(t, tb, e, t0)
	if ci, got := step(t, tb, icmpPkt(t, srv, cli, 3, 1, 0, e.B[:28]), t0); ci != RelatedReply || got != ect {
		t.Fatal(ci)
	}
}
