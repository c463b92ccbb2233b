package netfilter

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/xt"
)

// The router of these tests: eth0 10.0.0.2/24 (client side, 10.0.0.9),
// eth1 10.1.0.1/24 (server side, 10.1.0.5) with MTU mtu1.
func fragHost(mtu1 int) *host.Host {
	pfx := netip.MustParsePrefix
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	return host.New([]*host.Interface{
		{Index: 1, Name: "lo", MTU: 65536, Up: true, LinkType: "loopback",
			Addrs: []host.Addr{{IP: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8}}},
		{Index: 2, Name: "eth0", MAC: mac, MTU: 1500, Up: true, LinkType: "ether",
			Addrs: []host.Addr{{IP: netip.MustParseAddr("10.0.0.2"), PrefixLen: 24, Broadcast: netip.MustParseAddr("10.0.0.255")}}},
		{Index: 3, Name: "eth1", MAC: mac, MTU: mtu1, Up: true, LinkType: "ether",
			Addrs: []host.Addr{{IP: netip.MustParseAddr("10.1.0.1"), PrefixLen: 24, Broadcast: netip.MustParseAddr("10.1.0.255")}}},
	}, []host.Route{
		{Dst: pfx("10.0.0.0/24"), Dev: "eth0", Type: "unicast"},
		{Dst: pfx("10.1.0.0/24"), Dev: "eth1", Type: "unicast"},
	}, true)
}

const (
	fClient = 0x0a000009 // 10.0.0.9
	fRouter = 0x0a000002 // 10.0.0.2
	fServer = 0x0a010005 // 10.1.0.5
	fT0     = int64(1_700_000_000) * 1e9
)

var fragMAC = []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 9, 8, 0}

// Rules counting at every hook, with or without connection tracking.
func fragRules(ct bool) string {
	s := `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -f
-A PREROUTING ! -f
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -f
-A INPUT ! -f
-A FORWARD -f
-A FORWARD ! -f
`
	if ct {
		s += "-A FORWARD -m state --state NEW\n"
	}
	return s + "COMMIT\n"
}

func fragStack(t *testing.T, ct bool, mtu1 int) *Stack {
	t.Helper()
	eng, err := New(load(t, fragRules(ct)))
	if err != nil {
		t.Fatal(err)
	}
	h := fragHost(mtu1)
	st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil)}
	cfg := conntrack.HostConfig()
	cfg.Checksum = false
	st.CT = conntrack.NewTable(cfg)
	return st
}

// udpDatagram is a whole UDP datagram with n payload bytes (a pattern).
func udpDatagram(src, dst uint32, id uint16, n int, df bool, tos uint8) []byte {
	b := packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoUDP, SrcPort: 4000, DstPort: 5000, PayloadLen: n, ID: id, DF: df, TOS: tos})
	for i := 28; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	// The UDP checksum over the new payload.
	b[26], b[27] = 0, 0
	seg := b[20:]
	sum := Checksum(seg, src>>16+src&0xFFFF+dst>>16+dst&0xFFFF+17+uint32(len(seg)))
	binary.BigEndian.PutUint16(b[26:], sum)
	return b
}

// Checksum is packet.Checksum16, here for brevity.
func Checksum(b []byte, seed uint32) uint16 { return packet.Checksum16(b, seed) }

// split cuts a whole datagram into fragments at the given payload
// offsets (multiples of 8), as a sender would.
func split(whole []byte, cuts ...int) [][]byte {
	ihl := int(whole[0]&0x0F) * 4
	data := whole[ihl:]
	fo := binary.BigEndian.Uint16(whole[6:8]) & packet.FlagDF
	bounds := append(append([]int{0}, cuts...), len(data))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		f := append(append([]byte(nil), whole[:ihl]...), data[bounds[i]:bounds[i+1]]...)
		v := fo | uint16(bounds[i]/8)
		if i+2 < len(bounds) {
			v |= packet.FlagMF
		}
		binary.BigEndian.PutUint16(f[6:], v)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], packet.Checksum16(f[:ihl], 0))
		out = append(out, f)
	}
	return out
}

// frag is a fragment with an arbitrary offset (bytes) and payload.
func frag(src, dst uint32, id uint16, off int, payload []byte, mf bool) []byte {
	f := make([]byte, 20+len(payload))
	f[0] = 0x45
	binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
	binary.BigEndian.PutUint16(f[4:], id)
	v := uint16(off / 8)
	if mf {
		v |= packet.FlagMF
	}
	binary.BigEndian.PutUint16(f[6:], v)
	f[8] = 64
	f[9] = packet.ProtoUDP
	binary.BigEndian.PutUint32(f[12:], src)
	binary.BigEndian.PutUint32(f[16:], dst)
	binary.BigEndian.PutUint16(f[10:], packet.Checksum16(f[:20], 0))
	copy(f[20:], payload)
	return f
}

type rx struct {
	o Outcome
	p *xt.Pkt
}

func recv(t *testing.T, st *Stack, b []byte, at int64) rx {
	t.Helper()
	p := &xt.Pkt{Time: at}
	if err := p.Decode(append([]byte(nil), b...)); err != nil {
		t.Fatal(err)
	}
	o := st.Receive(p, "eth0", fragMAC)
	return rx{o, p}
}

func counters(st *Stack) string {
	s := st.Engine.Snapshot()
	c := s.Ruleset.Clone()
	s.Counters(c)
	var out []string
	for _, tb := range c.Tables {
		for _, ch := range tb.Chains {
			for i, r := range ch.Rules {
				if r.Counters.Packets != 0 {
					out = append(out, strings.Join([]string{tb.Name, ch.Name, itoa(i + 1), itoa(int(r.Counters.Packets)), itoa(int(r.Counters.Bytes))}, ":"))
				}
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// withTTL is b with the TTL lowered by one and the checksum redone.
func withTTL(b []byte, dfOff bool) []byte {
	c := append([]byte(nil), b...)
	c[8]--
	if dfOff {
		binary.BigEndian.PutUint16(c[6:], binary.BigEndian.Uint16(c[6:])&^packet.FlagDF)
	}
	c[10], c[11] = 0, 0
	binary.BigEndian.PutUint16(c[10:], packet.Checksum16(c[:20], 0))
	return c
}

// With conntrack: in order, out of order and with duplicates, the
// fragments are held and the datagram they complete goes through the raw
// table on — whole, identical to the datagram sent (no DF: the fragments
// had none).
func TestDefragConntrackOrders(t *testing.T) {
	whole := udpDatagram(fClient, fRouter, 77, 1200, false, 0)
	fr := split(whole, 400, 800)
	for _, tc := range []struct {
		name  string
		order []int
	}{
		{"in order", []int{0, 1, 2}},
		{"reversed", []int{2, 1, 0}},
		{"middle last", []int{0, 2, 1}},
		{"duplicates", []int{1, 1, 2, 2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := fragStack(t, true, 1500)
			var last rx
			for i, k := range tc.order {
				last = recv(t, st, fr[k], fT0+int64(i)*1e6)
				if i < len(tc.order)-1 {
					if last.o.Reassembled || last.o.NSteps != 0 {
						t.Fatalf("fragment %d went on: %+v", k, last.o)
					}
					if tc.name == "duplicates" && (i == 1 || i == 3) {
						if last.o.Held || last.o.Drop != "duplicate fragment" {
							t.Fatalf("duplicate: %+v", last.o)
						}
					} else if !last.o.Held {
						t.Fatalf("fragment %d not held: %+v", k, last.o)
					}
				}
			}
			if !last.o.Reassembled || !last.o.Local {
				t.Fatalf("not reassembled and delivered: %+v", last.o)
			}
			if !bytes.Equal(last.p.B, whole) {
				t.Fatalf("reassembled\n%x\nwant\n%x", last.p.B, whole)
			}
			want := "filter:INPUT:2:1:1228 raw:PREROUTING:2:1:1228"
			if got := counters(st); got != want {
				t.Fatalf("counters %s, want %s", got, want)
			}
		})
	}
}

// Without conntrack: forwarded fragments pass one by one; fragments for
// the host are counted one by one in PREROUTING and reassembled before
// INPUT.
func TestDefragWithoutConntrack(t *testing.T) {
	st := fragStack(t, false, 1500)
	fwd := split(udpDatagram(fClient, fServer, 5, 1000, false, 0), 496)
	for _, f := range fwd {
		r := recv(t, st, f, fT0)
		if !r.o.Sent || r.o.Held || r.o.Reassembled || r.o.Fragments != nil {
			t.Fatalf("forwarded fragment: %+v", r.o)
		}
	}
	loc := split(udpDatagram(fClient, fRouter, 6, 1000, false, 0), 496)
	r := recv(t, st, loc[1], fT0)
	if !r.o.Held || r.o.NSteps != 1 || r.o.Steps[0].Hook != xt.HookPreRouting {
		t.Fatalf("local fragment: %+v", r.o)
	}
	r = recv(t, st, loc[0], fT0)
	if !r.o.Reassembled || !r.o.Local {
		t.Fatalf("local datagram: %+v", r.o)
	}
	want := "filter:FORWARD:1:1:532 filter:FORWARD:2:1:516 filter:INPUT:2:1:1028 raw:PREROUTING:1:2:1064 raw:PREROUTING:2:2:1032"
	if got := counters(st); got != want {
		t.Fatalf("counters\n%s\nwant\n%s", got, want)
	}
}

// A forwarded datagram reassembled by conntrack leaves cut at its
// original fragments' boundaries (ip_do_fragment's frag_list path: no DF,
// TTL lowered), while FORWARD and POSTROUTING saw it whole.
func TestDefragForwardRefragment(t *testing.T) {
	whole := udpDatagram(fClient, fServer, 9, 1200, false, 0)
	fr := split(whole, 600)
	st := fragStack(t, true, 1500)
	recv(t, st, fr[1], fT0)
	r := recv(t, st, fr[0], fT0)
	if !r.o.Sent || !r.o.Reassembled || len(r.o.Fragments) != 2 {
		t.Fatalf("%+v", r.o)
	}
	for i := range fr {
		if want := withTTL(fr[i], false); !bytes.Equal(r.o.Fragments[i], want) {
			t.Errorf("fragment %d out\n%x\nwant\n%x", i, r.o.Fragments[i], want)
		}
	}
	if want := "filter:FORWARD:2:1:1228 filter:FORWARD:3:1:1228 raw:PREROUTING:2:1:1228"; counters(st) != want {
		t.Fatalf("counters %s, want %s", counters(st), want)
	}

	// With DF on every fragment, the datagram keeps DF; the fragments
	// that leave by the frag_list path carry none.
	whole = udpDatagram(fClient, fServer, 10, 1200, true, 0)
	fr = split(whole, 600)
	recv(t, st, fr[0], fT0)
	r = recv(t, st, fr[1], fT0)
	if r.p.FragOff != packet.FlagDF || len(r.o.Fragments) != 2 {
		t.Fatalf("DF datagram: frag_off %#x, %+v", r.p.FragOff, r.o)
	}
	for i := range fr {
		if want := withTTL(fr[i], true); !bytes.Equal(r.o.Fragments[i], want) {
			t.Errorf("DF fragment %d out\n%x\nwant\n%x", i, r.o.Fragments[i], want)
		}
	}
}

// Through a smaller MTU: without DF the datagram is cut to the MTU (the
// slow path, 8-byte aligned); with DF, an original fragment larger than
// the MTU makes it an ICMP "fragmentation needed" at ip_forward.
func TestDefragForwardSmallMTU(t *testing.T) {
	st := fragStack(t, true, 600)
	whole := udpDatagram(fClient, fServer, 11, 1400, false, 0)
	fr := split(whole, 1000)
	recv(t, st, fr[0], fT0)
	r := recv(t, st, fr[1], fT0)
	if !r.o.Sent || len(r.o.Fragments) != 3 {
		t.Fatalf("%+v", r.o)
	}
	var lens []int
	var data []byte
	for i, f := range r.o.Fragments {
		lens = append(lens, len(f))
		fo := binary.BigEndian.Uint16(f[6:])
		if (fo&packet.FlagMF != 0) != (i < 2) || packet.Checksum16(f[:20], 0) != 0 || int(fo&packet.OffsetMask)*8 != len(data) {
			t.Errorf("fragment %d header %x", i, f[:20])
		}
		data = append(data, f[20:]...)
	}
	if lens[0] != 596 || lens[1] != 596 || lens[2] != 20+1408-2*576 {
		t.Errorf("fragment sizes %v", lens)
	}
	if !bytes.Equal(data, whole[20:]) {
		t.Errorf("data differs")
	}

	whole = udpDatagram(fClient, fServer, 12, 1400, true, 0)
	fr = split(whole, 1000)
	recv(t, st, fr[0], fT0)
	r = recv(t, st, fr[1], fT0)
	if r.o.Sent || r.o.Drop != "fragmentation needed" || len(r.o.Emitted) != 1 {
		t.Fatalf("%+v", r.o)
	}
	e := r.o.Emitted[0].Packet
	if e[20] != 3 || e[21] != 4 || binary.BigEndian.Uint16(e[26:]) != 600 ||
		binary.BigEndian.Uint32(e[12:]) != fRouter || binary.BigEndian.Uint32(e[16:]) != fClient {
		t.Fatalf("ICMP %x", e)
	}
}

// Overlaps kill the queue (RFC 5722 as the kernel applies it to IPv4), and
// the rest of the datagram then starts a queue of its own that never
// completes; a fragment inside a run of contiguous fragments is a
// duplicate, straddling two runs an overlap.
func TestDefragOverlap(t *testing.T) {
	p := func(n int) []byte { return make([]byte, n) }
	st := fragStack(t, true, 1500)
	seq := []struct {
		b    []byte
		drop string
	}{
		{frag(fClient, fRouter, 1, 0, p(16), true), ""},
		{frag(fClient, fRouter, 1, 8, p(16), true), "overlapping fragment"}, // overlaps the tail
		{frag(fClient, fRouter, 1, 16, p(8), false), ""},                    // a new queue
		{frag(fClient, fRouter, 1, 0, p(16), true), ""},                     // completes it
	}
	for i, s := range seq {
		r := recv(t, st, s.b, fT0)
		if r.o.Drop != s.drop && !(s.drop == "" && (r.o.Held || r.o.Reassembled)) {
			t.Fatalf("step %d: %+v", i, r.o)
		}
		if i == 3 && !r.o.Reassembled {
			t.Fatalf("step 3 not reassembled: %+v", r.o)
		}
	}
	// Runs: [0,16) from two contiguous fragments; [8,16) inside it is a
	// duplicate. Fragments [32,40) then [16,24): separate runs; [16,40)
	// straddles them: overlap.
	st = fragStack(t, true, 1500)
	for i, s := range []struct {
		off  int
		n    int
		mf   bool
		drop string
	}{
		{0, 8, true, ""}, {8, 8, true, ""}, {4 * 2, 8, true, "duplicate fragment"},
		{32, 8, true, ""}, {16, 8, true, ""}, {16, 24, true, "overlapping fragment"},
	} {
		r := recv(t, st, frag(fClient, fRouter, 2, s.off, p(s.n), s.mf), fT0)
		if r.o.Drop != s.drop && !(s.drop == "" && r.o.Held) {
			t.Fatalf("step %d: %+v", i, r.o)
		}
	}
	// A last fragment ending before data already queued, and a second
	// last fragment disagreeing, kill the queue.
	st = fragStack(t, true, 1500)
	recv(t, st, frag(fClient, fRouter, 3, 0, p(64), true), fT0)
	if r := recv(t, st, frag(fClient, fRouter, 3, 8, p(8), false), fT0); r.o.Drop != "fragment beyond the datagram's end" {
		t.Fatalf("%+v", r.o)
	}
	recv(t, st, frag(fClient, fRouter, 4, 64, p(8), false), fT0)
	if r := recv(t, st, frag(fClient, fRouter, 4, 64, p(16), false), fT0); r.o.Drop != "fragment beyond the datagram's end" {
		t.Fatalf("%+v", r.o)
	}
	// Over 64 KiB.
	st = fragStack(t, true, 1500)
	recv(t, st, frag(fClient, fRouter, 5, 0, p(8), true), fT0)
	recv(t, st, frag(fClient, fRouter, 5, 8, p(65496), true), fT0)
	if r := recv(t, st, frag(fClient, fRouter, 5, 65504, p(16), false), fT0); r.o.Drop != "reassembled datagram over 64 KiB" {
		t.Fatalf("%+v", r.o)
	}
}

// An incomplete datagram for the host expires 30 s after its first
// fragment: the host sends "fragment reassembly time exceeded" quoting the
// offset-0 fragment (through OUTPUT), and a late fragment starts anew.
// For a forwarded datagram (conntrack's queue) and for a queue without its
// offset-0 fragment there is no ICMP.
func TestDefragExpire(t *testing.T) {
	st := fragStack(t, true, 1500)
	whole := udpDatagram(fClient, fRouter, 21, 1000, false, 0xb9)
	fr := split(whole, 496)
	recv(t, st, fr[0], fT0)
	recv(t, st, split(udpDatagram(fClient, fServer, 22, 1000, false, 0), 496)[0], fT0)
	recv(t, st, split(udpDatagram(fClient, fRouter, 23, 1000, false, 0), 496)[1], fT0)
	if em := st.Expire(fT0+DefaultFragTimeout-1, nil); len(em) != 0 {
		t.Fatalf("expired early: %d", len(em))
	}
	em := st.Expire(fT0+DefaultFragTimeout, nil)
	if len(em) != 1 {
		t.Fatalf("%d errors sent", len(em))
	}
	e := em[0].Packet
	if e[20] != 11 || e[21] != 1 || e[1] != 0xb9&0x1E|0xC0 || binary.BigEndian.Uint32(e[12:]) != fRouter ||
		binary.BigEndian.Uint32(e[16:]) != fClient || len(e) != 28+len(fr[0]) || !bytes.Equal(e[28:], fr[0]) {
		t.Fatalf("ICMP %x", e[:48])
	}
	if !em[0].Outcome.Sent || em[0].Outcome.OutIface != "eth0" {
		t.Fatalf("%+v", em[0].Outcome)
	}
	if packet.Checksum16(e[20:], 0) != 0 || packet.Checksum16(e[:20], 0) != 0 {
		t.Fatal("checksums")
	}
	// The second fragment, after the expiry: a new queue.
	if r := recv(t, st, fr[1], fT0+DefaultFragTimeout+1); !r.o.Held {
		t.Fatalf("%+v", r.o)
	}
	// Receive expires queues on its own, by packet time.
	if r := recv(t, st, fr[0], fT0+2*DefaultFragTimeout+2); !r.o.Held || len(r.o.Emitted) != 0 {
		t.Fatalf("%+v", r.o)
	}
	// A short timeout (ipfrag_time) and the error from Receive.
	st = fragStack(t, false, 1500)
	st.FragTimeout = 1e9
	recv(t, st, fr[0], fT0)
	if r := recv(t, st, fr[0], fT0+1e9); len(r.o.Emitted) != 1 || !r.o.Held {
		t.Fatalf("%+v", r.o)
	}
}

// Memory, distance and ECN limits.
func TestDefragLimits(t *testing.T) {
	p := make([]byte, 8)
	st := fragStack(t, true, 1500)
	st.FragHighThresh = 2000
	recv(t, st, frag(fClient, fRouter, 1, 0, p, true), fT0)
	recv(t, st, frag(fClient, fRouter, 2, 0, p, true), fT0)
	if r := recv(t, st, frag(fClient, fRouter, 3, 0, p, true), fT0); r.o.Drop != "reassembly memory exhausted" {
		t.Fatalf("%+v", r.o)
	}
	// ipfrag_max_dist: 64 or more fragments from the source between two
	// fragments of a queue (the counter advancing by more than 64) flush
	// it.
	st = fragStack(t, true, 1500)
	recv(t, st, frag(fClient, fRouter, 1, 0, p, true), fT0)
	for i := 0; i < 63; i++ {
		recv(t, st, frag(fClient, fRouter, uint16(100+i), 0, p, true), fT0)
	}
	if r := recv(t, st, frag(fClient, fRouter, 1, 8, p, false), fT0); !r.o.Reassembled {
		t.Fatalf("63 between: %+v", r.o)
	}
	recv(t, st, frag(fClient, fRouter, 2, 0, p, true), fT0)
	for i := 0; i < 64; i++ {
		recv(t, st, frag(fClient, fRouter, uint16(200+i), 0, p, true), fT0)
	}
	if r := recv(t, st, frag(fClient, fRouter, 2, 8, p, false), fT0); !r.o.Held {
		t.Fatalf("64 between: %+v", r.o)
	}
	// ECN: CE with ECT(0) gives CE; not-ECT with ECT drops the datagram.
	st = fragStack(t, true, 1500)
	a := frag(fClient, fRouter, 7, 0, p, true)
	b := frag(fClient, fRouter, 7, 8, p, false)
	setTOS(a, 2)
	setTOS(b, 3)
	recv(t, st, a, fT0)
	if r := recv(t, st, b, fT0); !r.o.Reassembled || r.p.TOS != 3 {
		t.Fatalf("%+v tos %#x", r.o, r.p.TOS)
	}
	a = frag(fClient, fRouter, 8, 0, p, true)
	setTOS(a, 0)
	b = frag(fClient, fRouter, 8, 8, p, false)
	setTOS(b, 2)
	recv(t, st, a, fT0)
	if r := recv(t, st, b, fT0); r.o.Drop != "ECN mismatch between fragments" {
		t.Fatalf("%+v", r.o)
	}
}

func setTOS(b []byte, tos uint8) {
	b[1] = tos
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:20], 0))
}

// Locally generated fragments (a raw socket's) are reassembled before
// OUTPUT's raw table when conntrack is on, and leave cut again.
func TestDefragOutput(t *testing.T) {
	st := fragStack(t, true, 1500)
	whole := udpDatagram(fRouter, fClient, 31, 1000, false, 0)
	fr := split(whole, 496)
	p := &xt.Pkt{Time: fT0}
	p.Decode(append([]byte(nil), fr[1]...))
	if o := st.Send(p); !o.Held {
		t.Fatalf("%+v", o)
	}
	p = &xt.Pkt{Time: fT0}
	p.Decode(append([]byte(nil), fr[0]...))
	o := st.Send(p)
	if !o.Reassembled || !o.Sent || !bytes.Equal(p.B, whole) || len(o.Fragments) != 2 ||
		!bytes.Equal(o.Fragments[0], fr[0]) || !bytes.Equal(o.Fragments[1], fr[1]) {
		t.Fatalf("%+v", o)
	}
}
