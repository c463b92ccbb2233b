package xt

import (
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// connlimit's packet logic against Linux 6.18 xt_connlimit/nf_conncount,
// with a real conntrack table: connections opened, refused, closed.

// clTracker is the engine's conntrack step over a table, with the table
// accessor connlimit uses.
type clTracker struct{ t *conntrack.Table }

func (c *clTracker) Track(p *Pkt) bool {
	ci, ct := c.t.In(&p.Parsed, p.Time, 0)
	if ci == conntrack.Drop {
		return false
	}
	p.CtInfo, p.Conn, p.CTDone = ci, ct, true
	return true
}

func (c *clTracker) Confirm(p *Pkt) bool {
	ct, ok := c.t.Confirm(p.Conn, p.CtInfo, p.Time)
	p.Conn = ct
	return ok
}

func (c *clTracker) ConntrackTable() *conntrack.Table { return c.t }

type clHarness struct {
	t   *testing.T
	tr  *clTracker
	now int64
}

func newCLHarness(t *testing.T) *clHarness {
	cfg := conntrack.DefaultConfig()
	cfg.Checksum = false
	cfg.Buckets = 1024
	// A tick boundary: jiffies change 4 ms later (HZ 250).
	return &clHarness{t: t, tr: &clTracker{conntrack.NewTable(cfg)}, now: 1_700_000_000_000_000_000}
}

// ms advances the clock.
func (h *clHarness) ms(n int64) { h.now += n * 1e6 }

func (h *clHarness) pkt(sp *packet.Spec, tracked bool) *Pkt {
	p := &Pkt{Time: h.now, Hook: HookLocalIn}
	if err := p.Decode(packet.Build(sp)); err != nil {
		h.t.Fatal(err)
	}
	if tracked {
		p.Tracker = h.tr
		if !h.tr.Track(p) {
			h.t.Fatal("conntrack dropped the packet")
		}
	}
	return p
}

// in runs a tracked packet through rule m at INPUT; it is confirmed (the
// connection enters the table) unless it matched and dropIfMatch, or was
// hot-dropped.
func (h *clHarness) in(m *Connlimit, sp *packet.Spec, dropIfMatch, drop bool) (matched, hot bool) {
	p := h.pkt(sp, true)
	matched = m.Match(p)
	if !drop && !p.HotDrop && !(matched && dropIfMatch) && p.Conn != nil {
		h.tr.Confirm(p)
	}
	return matched, p.HotDrop
}

// out is a packet of the host's own (the server's SYN-ACK): tracked and
// confirmed.
func (h *clHarness) out(sp *packet.Spec) {
	p := h.pkt(sp, true)
	if p.Conn != nil {
		h.tr.Confirm(p)
	}
}

const (
	clClient  = 0x0a000102 // 10.0.1.2
	clClient2 = 0x0a000103 // 10.0.1.3
	clServer  = 0x0a000101 // 10.0.1.1
	clServer2 = 0x0a000201 // 10.0.2.1
)

func clTCP(src, dst uint32, sport, dport uint16, flags uint8, seq, ack uint32) *packet.Spec {
	return &packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
		TCPFlags: flags, Seq: seq, Ack: ack, DF: true}
}

func clRule(t *testing.T, words ...string) *Connlimit {
	t.Helper()
	in, _, err := buildExt(&connlimitMatch, packet.ProtoTCP, words...)
	if err != nil {
		t.Fatal(err)
	}
	return in.Ext.(*Connlimit)
}

type clStep struct {
	what        string
	sp          *packet.Spec
	reply       bool // the host's own packet: tracked, not matched
	want, hot   bool
	dropIfMatch bool
	drop        bool // a later rule drops it: never confirmed
	advanceMS   int64
}

func (h *clHarness) run(m *Connlimit, steps []clStep) {
	h.t.Helper()
	for _, s := range steps {
		h.ms(s.advanceMS)
		if s.reply {
			h.out(s.sp)
			continue
		}
		got, hot := h.in(m, s.sp, s.dropIfMatch, s.drop)
		if got != s.want || hot != s.hot {
			h.t.Errorf("%s: match %v hotdrop %v, want %v %v", s.what, got, hot, s.want, s.hot)
		}
	}
}

// handshake is a connection from src:sport to dst:22 accepted by the
// host: SYN, SYN-ACK, ACK, each 10 ms apart.
func handshake(src, dst uint32, sport uint16, synWant, ackWant bool) []clStep {
	const S, A = packet.TCPSyn, packet.TCPAck
	return []clStep{
		{what: "SYN", sp: clTCP(src, dst, sport, 22, S, 1000, 0), want: synWant, dropIfMatch: true, advanceMS: 10},
		{what: "SYN-ACK", sp: clTCP(dst, src, 22, sport, S|A, 5000, 1001), reply: true, advanceMS: 10},
		{what: "ACK", sp: clTCP(src, dst, sport, 22, A, 1001, 5001), want: ackWant, advanceMS: 10},
	}
}

// Seed article 003: -p tcp --dport 22 -m connlimit --connlimit-above 3
// -j REJECT. Three connections open; the 4th and 5th SYN are refused (the
// count includes the new connection); the refused ones are forgotten;
// a connection closed by RST (CLOSE) no longer counts, so a 6th opens.
func TestConnlimitPacketAbove(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-above", "3")
	var steps []clStep
	for i := 0; i < 3; i++ {
		steps = append(steps, handshake(clClient, clServer, uint16(41001+i), false, false)...)
	}
	steps = append(steps,
		clStep{what: "4th SYN (count 4)", sp: clTCP(clClient, clServer, 41004, 22, packet.TCPSyn, 1000, 0), want: true, dropIfMatch: true, advanceMS: 100},
		clStep{what: "5th SYN (count 4: the 4th is gone)", sp: clTCP(clClient, clServer, 41005, 22, packet.TCPSyn, 1000, 0), want: true, dropIfMatch: true, advanceMS: 100},
		clStep{what: "data on the 1st (assured: not added)", sp: clTCP(clClient, clServer, 41001, 22, packet.TCPAck|packet.TCPPsh, 1001, 5001), want: false, advanceMS: 100},
	)
	h.run(m, steps)
	h.ms(100)
	if n := m.Count(h.tr.t, clClient, 0, h.now); n != 3 {
		t.Errorf("count after the refused ones: %d, want 3", n)
	}
	h.run(m, []clStep{
		{what: "RST closes the 1st", sp: clTCP(clClient, clServer, 41001, 22, packet.TCPRst, 1001, 0), want: false, advanceMS: 100},
	})
	h.run(m, handshake(clClient, clServer, 41006, false, false))
	h.ms(100)
	if n := m.Count(h.tr.t, clClient, 0, h.now); n != 3 {
		t.Errorf("count after closing one and opening another: %d, want 3", n)
	}
	// Another client has its own count.
	h.run(m, handshake(clClient2, clServer, 41001, false, false))
}

// --connlimit-upto with a /24 mask counts the network; --connlimit-daddr
// counts per destination.
func TestConnlimitPacketUptoMaskDaddr(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-upto", "2", "--connlimit-mask", "24")
	var steps []clStep
	steps = append(steps, handshake(clClient, clServer, 40000, true, true)...)     // 1 <= 2
	steps = append(steps, handshake(clClient2, clServer, 40000, true, true)...)    // 2 <= 2
	steps = append(steps, handshake(0x0a000109, clServer, 40000, false, false)...) // 3: the /24's third
	h.run(m, steps)

	h = newCLHarness(t)
	d := clRule(t, "--connlimit-above", "1", "--connlimit-daddr")
	steps = nil
	steps = append(steps, handshake(clClient, clServer, 40001, false, false)...)
	steps = append(steps, handshake(clClient, clServer2, 40001, false, false)...) // another destination: 1
	steps = append(steps, clStep{what: "2nd to the first server", sp: clTCP(clClient2, clServer, 40002, 22, packet.TCPSyn, 1, 0), want: true, dropIfMatch: true, advanceMS: 10})
	h.run(d, steps)
}

// Retransmitted SYNs of a confirmed connection that is not yet assured
// are not counted twice; a SYN that arrives in the jiffy the list was
// last checked is added without a check (nf_conncount's shortcut), so
// that two refused SYNs within 4 ms count each other.
func TestConnlimitPacketDedupAndShortcut(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-above", "1")
	syn := func(sport uint16) *packet.Spec { return clTCP(clClient, clServer, sport, 22, packet.TCPSyn, 1000, 0) }
	h.run(m, []clStep{
		{what: "SYN 1", sp: syn(1), want: false, advanceMS: 10},
		{what: "SYN 1 again (confirmed, not assured)", sp: syn(1), want: false, advanceMS: 10},
		{what: "SYN 1 a third time", sp: syn(1), want: false, advanceMS: 10},
	})
	h.ms(10)
	if n := m.Count(h.tr.t, clClient, 0, h.now); n != 1 {
		t.Errorf("after retransmissions: count %d, want 1", n)
	}

	h = newCLHarness(t)
	m = clRule(t, "--connlimit-upto", "1")
	h.run(m, []clStep{
		{what: "SYN A (new key): 1", sp: syn(10), want: true, drop: true, advanceMS: 0},
		// Same jiffy: A's tuple (never confirmed) is not checked.
		{what: "SYN B, same jiffy: 2", sp: syn(11), want: false, drop: true, advanceMS: 1},
		// A later jiffy: A and B are gone.
		{what: "SYN C, later: 1", sp: syn(12), want: true, drop: true, advanceMS: 20},
	})
}

// The last connection of a key closing: the closing packet (assured
// connection, CLOSE) garbage-collects its own entry, the count is 0 and
// the kernel hot-drops it; later packets of the key with an assured
// connection still find the empty list: count 0 again.
func TestConnlimitPacketLastClosedHotdrop(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-above", "5")
	steps := handshake(clClient, clServer, 42000, false, false)
	steps = append(steps,
		clStep{what: "RST of the only connection", sp: clTCP(clClient, clServer, 42000, 22, packet.TCPRst, 1001, 0), want: false, hot: true, advanceMS: 100},
	)
	h.run(m, steps)
	// A new connection of the key is counted again from the empty list.
	h.run(m, handshake(clClient, clServer, 42001, false, false))
}

// Packets without a conntrack entry count with their own tuple, each
// added anew (nothing confirms them); the tuple comes from the headers.
// No tuple (a non-first fragment, a short ICMP header): hot-drop.
func TestConnlimitPacketNoConntrack(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-above", "1")
	u := &packet.Spec{Src: clClient, Dst: clServer, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 53, PayloadLen: 4}
	cases := []struct {
		what      string
		advanceMS int64
		sp        *packet.Spec
		raw       func() []byte
		want, hot bool
	}{
		{what: "first: count 1", advanceMS: 10, sp: u},
		{what: "same jiffy: added without a check, count 2", advanceMS: 1, sp: u, want: true},
		{what: "later: the others are not in the table, count 1", advanceMS: 20, sp: u},
		{what: "non-first fragment", advanceMS: 20, sp: &packet.Spec{Src: clClient, Dst: clServer, Proto: packet.ProtoUDP, FragOffset: 4, PayloadLen: 8}, hot: true},
		{what: "ICMP with 4 bytes of header", advanceMS: 20, raw: func() []byte {
			b := packet.Build(&packet.Spec{Src: clClient, Dst: clServer, Proto: packet.ProtoICMP, ICMPType: 8})
			b = b[:24]
			b[2], b[3] = 0, 24
			b[10], b[11] = 0, 0
			s := packet.Checksum16(b[:20], 0)
			b[10], b[11] = byte(s>>8), byte(s)
			return b
		}, hot: true},
		{what: "ICMP echo: count 1", advanceMS: 20, sp: &packet.Spec{Src: clClient, Dst: clServer, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 7}},
	}
	for _, c := range cases {
		h.ms(c.advanceMS)
		var b []byte
		if c.raw != nil {
			b = c.raw()
		} else {
			b = packet.Build(c.sp)
		}
		p := &Pkt{Time: h.now, Hook: HookLocalIn}
		if err := p.Decode(b); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		got := m.Match(p)
		if got != c.want || p.HotDrop != c.hot {
			t.Errorf("%s: match %v hotdrop %v, want %v %v", c.what, got, p.HotDrop, c.want, c.hot)
		}
	}
}

// An INVALID packet of a known connection (no entry attached) finds the
// connection in the table by its tuple: an assured one is not added.
func TestConnlimitPacketInvalidOfKnown(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-above", "1")
	h.run(m, handshake(clClient, clServer, 43000, false, false))
	h.ms(100)
	p := &Pkt{Time: h.now, Hook: HookLocalIn, Tracker: h.tr}
	if err := p.Decode(packet.Build(clTCP(clClient, clServer, 43000, 22, packet.TCPAck, 1001, 5001))); err != nil {
		t.Fatal(err)
	}
	if got := m.Match(p); got || p.HotDrop {
		t.Errorf("untracked packet of an assured connection: match %v hotdrop %v", got, p.HotDrop)
	}
	if n := m.Count(h.tr.t, clClient, 0, h.now); n != 1 {
		t.Errorf("count %d, want 1", n)
	}
}

// Packets of existing connections do not allocate, whether the list is
// collected (a new jiffy) or not.
func TestConnlimitPacketAllocs(t *testing.T) {
	h := newCLHarness(t)
	m := clRule(t, "--connlimit-above", "3")
	for i := 0; i < 3; i++ {
		h.run(m, handshake(clClient, clServer, uint16(44000+i), false, false))
	}
	// An unconfirmed SYN refused: its entry stays until collected.
	h.run(m, []clStep{{what: "4th", sp: clTCP(clClient, clServer, 44003, 22, packet.TCPSyn, 1, 0), want: true, dropIfMatch: true, advanceMS: 10}})
	h.ms(10)
	p := h.pkt(clTCP(clClient, clServer, 44000, 22, packet.TCPAck, 1001, 5001), true)
	n := testing.AllocsPerRun(200, func() {
		p.Time += 5e6
		p.HotDrop = false
		if m.Match(p) {
			t.Fatal("matched")
		}
	})
	if n != 0 {
		t.Errorf("Match allocates %v times per packet", n)
	}
}
