package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/logpipe"
	"github.com/nfgo/nfgo/netfilter"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/rstattr"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// testGateway is a gateway between devices "gin" (10.76.1.1/24, MTU
// 9000) and "gout" (10.76.2.1/24, MTU 1500) without TUNs: the frames written to a device
// land in its last frame.
func testGateway(t testing.TB, ruleset string) (g *Gateway, in, out *device, last map[*device][]byte, frames map[*device]int) {
	t.Helper()
	return testGatewayQueues(t, ruleset, 1)
}

// testGatewayQueues is testGateway with devices of n queues.
func testGatewayQueues(t testing.TB, ruleset string, n int) (g *Gateway, in, out *device, last map[*device][]byte, frames map[*device]int) {
	t.Helper()
	rs := rules.NewRuleset(xt.FamilyIPv4)
	if _, err := rules.Restore(rs, strings.NewReader(ruleset), rules.RestoreOptions{Counters: true}, io.Discard); err != nil {
		t.Fatal(err)
	}
	eng, err := netfilter.New(rs)
	if err != nil {
		t.Fatal(err)
	}
	ifaces := []*host.Interface{{Index: 1, Name: "lo", MTU: 65536, Up: true, LinkType: "loopback",
		Addrs: []host.Addr{{IP: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8, Scope: "host"}}}}
	var routes []host.Route
	g = &Gateway{log: slog.New(slog.NewTextHandler(io.Discard, nil)), devs: map[string]*device{}, RST: &rstattr.Tracker{Max: 10}}
	last, frames = map[*device][]byte{}, map[*device]int{}
	for i, a := range []string{"gin 10.76.1.1/24", "gout 10.76.2.1/24"} {
		name, pfx := a[:strings.IndexByte(a, ' ')], netip.MustParsePrefix(a[strings.IndexByte(a, ' ')+1:])
		mtu := 1500
		if name == "gin" {
			mtu = 9000 // packets bigger than gout's MTU can arrive
		}
		d := &device{cfg: DeviceConfig{Name: name, Addr: pfx, MTU: mtu, Queues: n}, hdr: vnetHdrLen}
		for range n {
			d.queues = append(d.queues, &queue{})
		}
		buf := make([]byte, 0, 70000)
		d.capture = func(_ int, f []byte) {
			last[d] = append(buf[:0], f...)
			frames[d]++
		}
		last[d] = nil
		g.devs[name] = d
		g.order = append(g.order, d)
		ifaces = append(ifaces, &host.Interface{Index: i + 2, Name: name, MTU: mtu, Up: true, LinkType: "none",
			Addrs: []host.Addr{{IP: pfx.Addr(), PrefixLen: pfx.Bits(), Scope: "global"}}})
		routes = append(routes, host.Route{Dst: pfx.Masked(), Dev: name, Type: "unicast", PrefSrc: pfx.Addr()})
	}
	h := host.New(ifaces, routes, true)
	g.Stack = &netfilter.Stack{Engine: eng, Host: h, Env: netfilter.NewEnv(h, func() uint32 { return 1 }), CT: conntrack.NewTable(conntrack.HostConfig()), RouterICMP: true}
	return g, g.order[0], g.order[1], last, frames
}

// feed hands the worker a frame as the TUN would: header, then packet.
func feed(w *worker, h vnetHdr, pkt []byte) {
	b := w.buf
	b[0], b[1] = h.flags, h.gsoType
	e := binary.NativeEndian
	e.PutUint16(b[2:], h.hdrLen)
	e.PutUint16(b[4:], h.gsoSize)
	e.PutUint16(b[6:], h.csumStart)
	e.PutUint16(b[8:], h.csumOffset)
	copy(b[vnetHdrLen:], pkt)
	w.handle(len(pkt))
}

func ip4(s string) uint32 {
	a := netip.MustParseAddr(s).As4()
	return binary.BigEndian.Uint32(a[:])
}

// pseudoPartial puts the partial checksum a sender offloading it leaves.
func pseudoPartial(b []byte) {
	src, dst := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:])
	s := ^packet.Checksum16(nil, src>>16+src&0xFFFF+dst>>16+dst&0xFFFF+uint32(b[9])+uint32(len(b)-20))
	binary.BigEndian.PutUint16(b[36:], s)
}

// A GSO super-packet of an established, port-forwarded and MASQUERADEd
// connection leaves as one GSO frame (same segment size, checksum still
// partial, at the same place), addresses and ports rewritten; completed
// as the receiving kernel would complete it, its checksum is that of the
// rewritten packet. Forwarding it allocates nothing.
func TestWorkerForwardsGSOWhole(t *testing.T) {
	g, in, out, last, _ := testGateway(t, bulkRules("gin", "gout"))
	win, wout := g.newWorker(in, 0), g.newWorker(out, 0)
	client, gwIn, server := ip4("10.76.1.2"), ip4("10.76.1.1"), ip4("10.76.2.2")
	tcp := func(src, dst uint32, sport, dport uint16, flags uint8, seq, ack uint32, n int) []byte {
		return packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
			TCPFlags: flags, Seq: seq, Ack: ack, Window: 65535, DF: true, TTL: 64, PayloadLen: n})
	}
	feed(win, vnetHdr{}, tcp(client, gwIn, 40000, 9090, packet.TCPSyn, 1000, 0, 0))
	syn := last[out]
	if syn == nil {
		t.Fatal("the SYN was not forwarded")
	}
	var p packet.Parsed
	p.Decode(syn[vnetHdrLen:])
	if p.Dst != server || p.DstPort != 9000 || p.Src != ip4("10.76.2.1") {
		t.Fatalf("SYN left as %x", syn[vnetHdrLen:])
	}
	feed(wout, vnetHdr{}, tcp(server, p.Src, 9000, p.SrcPort, packet.TCPSyn|packet.TCPAck, 5000, 1001, 0))
	if last[in] == nil {
		t.Fatal("the SYN-ACK was not forwarded")
	}
	feed(win, vnetHdr{}, tcp(client, gwIn, 40000, 9090, packet.TCPAck, 1001, 5001, 0))

	data := tcp(client, gwIn, 40000, 9090, packet.TCPAck|packet.TCPPsh, 1001, 5001, 20000)
	for i := range data[40:] {
		data[40+i] = byte(i * 13)
	}
	pseudoPartial(data)
	gso := vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: unix.VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 40, gsoSize: 1448, csumStart: 20, csumOffset: 16}
	last[out] = nil
	feed(win, gso, data)
	f := last[out]
	if f == nil {
		t.Fatalf("the GSO packet was not forwarded (dropped: %d)", g.Dropped.Load())
	}
	h := decodeVnetHdr(f)
	if h.gsoType != unix.VIRTIO_NET_HDR_GSO_TCPV4 || h.gsoSize != 1448 || h.flags&unix.VIRTIO_NET_HDR_F_NEEDS_CSUM == 0 || h.csumStart != 20 || h.csumOffset != 16 || h.hdrLen != 40 {
		t.Fatalf("header %+v", h)
	}
	b := f[vnetHdrLen:]
	if len(b) != len(data) {
		t.Fatalf("%d bytes left, %d came", len(b), len(data))
	}
	p.Decode(b)
	if p.Dst != server || p.DstPort != 9000 || p.Src != ip4("10.76.2.1") || p.TTL != 63 {
		t.Fatalf("left as %v:%d -> %v:%d ttl %d", p.Src, p.SrcPort, p.Dst, p.DstPort, p.TTL)
	}
	if !packet.FinishChecksum(b, 20, 16) {
		t.Fatal("FinishChecksum")
	}
	if packet.Checksum16(b[20:], p.Src>>16+p.Src&0xFFFF+p.Dst>>16+p.Dst&0xFFFF+6+uint32(len(b)-20)) != 0 {
		t.Fatal("the completed checksum does not verify")
	}
	if g.GSO.Load() != 1 {
		t.Fatalf("GSO count %d", g.GSO.Load())
	}
	if n := testing.AllocsPerRun(200, func() { feed(win, gso, data) }); n != 0 {
		t.Fatalf("%.1f allocations per GSO packet", n)
	}
	if last[out] == nil || g.Dropped.Load() != 0 {
		t.Fatalf("packets dropped: %d", g.Dropped.Load())
	}
}

// A GSO packet whose segments would not fit the output MTU is what the
// kernel's ip_forward makes of it: with DF, dropped and answered with
// "fragmentation needed" (the MTU in it); without DF, segmented and each
// segment fragmented, every piece with complete checksums.
func TestWorkerGSOBeyondMTU(t *testing.T) {
	const open = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`
	g, in, out, last, frames := testGateway(t, open)
	w := g.newWorker(in, 0)
	for _, df := range []bool{true, false} {
		data := packet.Build(&packet.Spec{Src: ip4("10.76.1.2"), Dst: ip4("10.76.2.2"), Proto: packet.ProtoTCP, SrcPort: 40000, DstPort: 9000,
			TCPFlags: packet.TCPAck, Seq: 1, Ack: 1, Window: 65535, DF: df, TTL: 64, PayloadLen: 4000})
		pseudoPartial(data)
		frames[in], frames[out] = 0, 0
		feed(w, vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: unix.VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 40, gsoSize: 1480, csumStart: 20, csumOffset: 16}, data)
		if df {
			r := last[in]
			if frames[out] != 0 || frames[in] != 1 || len(r) < vnetHdrLen+28 || r[vnetHdrLen+20] != 3 || r[vnetHdrLen+21] != 4 ||
				binary.BigEndian.Uint16(r[vnetHdrLen+26:]) != 1500 {
				t.Fatalf("DF: %d frames out, %d back (%x)", frames[out], frames[in], r)
			}
			continue
		}
		// 4000 bytes in 1480-byte segments: 1480, 1480, 1040; the first
		// two (1520 bytes) cut in two fragments each.
		if frames[out] != 5 {
			t.Fatalf("no DF: %d frames, want 5", frames[out])
		}
		f := last[out]
		if h := decodeVnetHdr(f); h != (vnetHdr{}) {
			t.Fatalf("a software-segmented frame carries offloads: %+v", h)
		}
		var p packet.Parsed
		if err := p.Decode(f[vnetHdrLen:]); err != nil || p.IsFragment() || len(p.B) != 1080 {
			t.Fatalf("last segment: %v, %d bytes", err, len(p.B))
		}
		if packet.Checksum16(p.B[20:], p.Src>>16+p.Src&0xFFFF+p.Dst>>16+p.Dst&0xFFFF+6+uint32(len(p.B)-20)) != 0 {
			t.Fatal("last segment's TCP checksum invalid")
		}
	}
}

// A datagram with a partial checksum that must be fragmented has its
// checksum completed first, as ip_do_fragment does: the reassembled
// datagram verifies.
func TestWorkerFragmentsPartialComplete(t *testing.T) {
	const open = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`
	g, in, out, last, frames := testGateway(t, open)
	w := g.newWorker(in, 0)
	data := packet.Build(&packet.Spec{Src: ip4("10.76.1.2"), Dst: ip4("10.76.2.2"), Proto: packet.ProtoUDP, SrcPort: 40000, DstPort: 9000, TTL: 64, PayloadLen: 3000})
	for i := range data[28:] {
		data[28+i] = byte(i * 11)
	}
	src, dst := ip4("10.76.1.2"), ip4("10.76.2.2")
	binary.BigEndian.PutUint16(data[26:], ^packet.Checksum16(nil, src>>16+src&0xFFFF+dst>>16+dst&0xFFFF+17+uint32(len(data)-20)))
	var udp []byte
	last[out] = nil
	out.capture = func(_ int, f []byte) {
		frames[out]++
		var p packet.Parsed
		if err := p.Decode(f[vnetHdrLen:]); err != nil {
			t.Fatal(err)
		}
		if h := decodeVnetHdr(f); h != (vnetHdr{}) {
			t.Errorf("a fragment carries offloads: %+v", h)
		}
		if int(p.FragOffset())*8 != len(udp) {
			t.Fatalf("fragment at %d, have %d bytes", p.FragOffset()*8, len(udp))
		}
		udp = append(udp, p.B[p.IHL:]...)
	}
	feed(w, vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart: 20, csumOffset: 6}, data)
	if frames[out] != 3 || len(udp) != len(data)-20 {
		t.Fatalf("%d fragments, %d bytes", frames[out], len(udp))
	}
	if packet.Checksum16(udp, src>>16+src&0xFFFF+dst>>16+dst&0xFFFF+17+uint32(len(udp))) != 0 {
		t.Fatal("the reassembled datagram's checksum does not verify")
	}
}

// A worker on a queue forwards a GSO packet whole to the output device's
// queue of the same index, allocating nothing.
func TestWorkerOnQueue(t *testing.T) {
	g, in, out, last, _ := testGatewayQueues(t, bulkRules("gin", "gout"), 4)
	win, wout := g.newWorker(in, 2), g.newWorker(out, 2)
	queues := map[*device]int{}
	for _, d := range []*device{in, out} {
		c := d.capture
		d.capture = func(q int, f []byte) {
			queues[d] = q
			c(q, f)
		}
	}
	client, gwIn, gwOut, server := ip4("10.76.1.2"), ip4("10.76.1.1"), ip4("10.76.2.1"), ip4("10.76.2.2")
	tcp := func(src, dst uint32, sport, dport uint16, flags uint8, seq, ack uint32, n int) []byte {
		return packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
			TCPFlags: flags, Seq: seq, Ack: ack, Window: 65535, DF: true, TTL: 64, PayloadLen: n})
	}
	feed(win, vnetHdr{}, tcp(client, gwIn, 40000, 9090, packet.TCPSyn, 1000, 0, 0))
	feed(wout, vnetHdr{}, tcp(server, gwOut, 9000, 40000, packet.TCPSyn|packet.TCPAck, 5000, 1001, 0))
	feed(win, vnetHdr{}, tcp(client, gwIn, 40000, 9090, packet.TCPAck, 1001, 5001, 0))
	if last[in] == nil || queues[in] != 2 {
		t.Fatalf("the SYN-ACK was not forwarded to queue 2 (dropped %d, queue %d)", g.Dropped.Load(), queues[in])
	}
	data := tcp(client, gwIn, 40000, 9090, packet.TCPAck|packet.TCPPsh, 1001, 5001, 20000)
	pseudoPartial(data)
	gso := vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: unix.VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 40, gsoSize: 1448, csumStart: 20, csumOffset: 16}
	last[out] = nil
	feed(win, gso, data)
	if h := decodeVnetHdr(last[out]); last[out] == nil || queues[out] != 2 || h.gsoSize != 1448 {
		t.Fatalf("the GSO packet left on queue %d with %+v (dropped %d)", queues[out], h, g.Dropped.Load())
	}
	if n := testing.AllocsPerRun(200, func() { feed(win, gso, data) }); n != 0 {
		t.Fatalf("%.1f allocations per GSO packet", n)
	}
	// three, then AllocsPerRun's 200 runs and its warm-up
	if w := g.WorkerPackets(); w["gin/2"] != 3+201 || w["gout/2"] != 1 || w["gin/0"] != 0 {
		t.Errorf("packets per worker: %v", w)
	}
}

// Four workers, one per queue of each device, run flows at the same time
// (go test -race checks them): every packet is forwarded, each to the
// output device's queue of its worker's index, conntrack has every
// connection, the packet counts per worker are what each read, and the
// LOG lines written from several workers at once are whole.
func TestWorkersConcurrent(t *testing.T) {
	const queues, flows, segs = 4, 8, 50
	ruleset := strings.Replace(bulkRules("gin", "gout"), "-A FORWARD -i gin -p tcp -m tcp --dport 9000 -m state --state NEW -j ACCEPT",
		"-A FORWARD -i gin -p tcp -m tcp --syn -j LOG --log-prefix \"[q] \"\n-A FORWARD -i gin -p tcp -m tcp --dport 9000 -m state --state NEW -j ACCEPT", 1)
	g, in, out, _, _ := testGatewayQueues(t, ruleset, queues)
	var logBuf bytes.Buffer
	g.cfg.Log = logpipe.NewWriter(&logBuf, logpipe.StampNone, "")
	var written [2][queues]atomic.Int64
	for i, d := range []*device{in, out} {
		d.capture = func(q int, f []byte) { written[i][q].Add(1) }
	}
	client, gwIn, gwOut, server := ip4("10.76.1.2"), ip4("10.76.1.1"), ip4("10.76.2.1"), ip4("10.76.2.2")
	var wg sync.WaitGroup
	for q := range queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			win, wout := g.newWorker(in, q), g.newWorker(out, q)
			tcp := func(src, dst uint32, sport, dport uint16, flags uint8, seq, ack uint32, n int) []byte {
				return packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
					TCPFlags: flags, Seq: seq, Ack: ack, Window: 65535, DF: true, TTL: 64, PayloadLen: n})
			}
			for f := range flows {
				port := uint16(40000 + q*100 + f)
				feed(win, vnetHdr{}, tcp(client, gwIn, port, 9090, packet.TCPSyn, 1000, 0, 0))
				feed(wout, vnetHdr{}, tcp(server, gwOut, 9000, port, packet.TCPSyn|packet.TCPAck, 5000, 1001, 0))
				feed(win, vnetHdr{}, tcp(client, gwIn, port, 9090, packet.TCPAck, 1001, 5001, 0))
				for i := range segs {
					feed(win, vnetHdr{}, tcp(client, gwIn, port, 9090, packet.TCPAck, 1001+uint32(i*1000), 5001, 1000))
					feed(wout, vnetHdr{}, tcp(server, gwOut, 9000, port, packet.TCPAck, 5001, 1001+uint32((i+1)*1000), 0))
				}
			}
		}()
	}
	wg.Wait()
	if d := g.Dropped.Load(); d != 0 {
		t.Fatalf("%d packets dropped", d)
	}
	if n := g.Stack.CT.Count(); n != queues*flows {
		t.Errorf("%d connections tracked, want %d", n, queues*flows)
	}
	per := g.WorkerPackets()
	for q := range queues {
		if n := written[1][q].Load(); n != flows*(2+segs) {
			t.Errorf("queue %d of gout: %d frames written, want %d", q, n, flows*(2+segs))
		}
		if n := written[0][q].Load(); n != flows*(1+segs) {
			t.Errorf("queue %d of gin: %d frames written, want %d", q, n, flows*(1+segs))
		}
		if n := per[fmt.Sprintf("gin/%d", q)]; n != flows*(2+segs) {
			t.Errorf("worker gin/%d read %d packets, want %d", q, n, flows*(2+segs))
		}
	}
	lines := strings.Split(strings.TrimSuffix(logBuf.String(), "\n"), "\n")
	if len(lines) != queues*flows {
		t.Fatalf("%d LOG lines, want %d", len(lines), queues*flows)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "[q] IN=gin OUT=gout ") || strings.Count(l, "[q] ") != 1 || strings.Count(l, "SRC=") != 1 {
			t.Errorf("LOG line not whole: %q", l)
		}
	}
}
