package netfilter

import (
	"encoding/binary"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/xt"
)

// Seed 004's port forwarding on the test host: 10.0.0.2:2222 (eth0) goes
// to the server 10.1.0.5:22, with the SNAT back to the host's address on
// the server side (10.1.0.1).
const natRules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.0.0.2/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.1.0.5:22
-A POSTROUTING -d 10.1.0.5/32 -p tcp -m tcp --dport 22 -j SNAT --to-source 10.1.0.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m conntrack --ctstate DNAT --ctorigdstport 2222 -j ACCEPT
COMMIT
`

const ctHostServerSide = 0x0a010001 // 10.1.0.1

func natStack(t testing.TB) *Stack {
	t.Helper()
	eng, err := New(load(t, natRules))
	if err != nil {
		t.Fatal(err)
	}
	h := ctHostModel()
	return &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil), CT: conntrack.NewTable(conntrack.DefaultConfig())}
}

func natRecv(t testing.TB, st *Stack, b []byte, in string) (*xt.Pkt, Outcome) {
	t.Helper()
	p := &xt.Pkt{Time: ctT0}
	if err := p.Decode(append([]byte(nil), b...)); err != nil {
		t.Fatal(err)
	}
	return p, st.Receive(p, in, nil)
}

// checkSums fails unless b's IP header and TCP checksums verify.
func checkSums(t testing.TB, b []byte) {
	t.Helper()
	if packet.Checksum16(b[:20], 0) != 0 {
		t.Fatalf("IP header checksum wrong: %x", b)
	}
	src, dst := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:])
	l4 := b[20:]
	init := src>>16 + src&0xFFFF + dst>>16 + dst&0xFFFF + uint32(b[9]) + uint32(len(l4))
	if packet.Checksum16(l4, init) != 0 {
		t.Fatalf("transport checksum wrong: %x", b)
	}
}

func tuple4(b []byte) (src, dst uint32, sport, dport uint16) {
	return binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint16(b[20:]), binary.BigEndian.Uint16(b[22:])
}

// natOpen runs the forwarded handshake and returns the client's ACK as it
// arrives (before NAT).
func natOpen(t testing.TB, st *Stack) []byte {
	t.Helper()
	p, o := natRecv(t, st, ctTCP(ctClient, ctHost, 40000, 2222, packet.TCPSyn, 1000, 0), "eth0")
	if !o.Sent || o.OutIface != "eth1" {
		t.Fatalf("SYN not forwarded: %+v", o)
	}
	if s, d, sp, dp := tuple4(p.B); s != ctHostServerSide || d != ctServer || sp != 40000 || dp != 22 {
		t.Fatalf("SYN rewritten to %08x:%d -> %08x:%d", s, sp, d, dp)
	}
	checkSums(t, p.B)
	p, o = natRecv(t, st, ctTCP(ctServer, ctHostServerSide, 22, 40000, packet.TCPSyn|packet.TCPAck, 5000, 1001), "eth1")
	if !o.Sent || o.OutIface != "eth0" {
		t.Fatalf("SYN/ACK not forwarded: %+v", o)
	}
	if s, d, sp, dp := tuple4(p.B); s != ctHost || d != ctClient || sp != 2222 || dp != 40000 {
		t.Fatalf("SYN/ACK rewritten to %08x:%d -> %08x:%d", s, sp, d, dp)
	}
	checkSums(t, p.B)
	ack := ctTCP(ctClient, ctHost, 40000, 2222, packet.TCPAck, 1001, 5001)
	if _, o := natRecv(t, st, ack, "eth0"); !o.Sent {
		t.Fatalf("ACK not forwarded: %+v", o)
	}
	return ack
}

// TestNATPortForward: both directions rewritten, checksums valid, the
// entry's reply tuple NATed, the original destination known, and after
// `iptables -t nat -F PREROUTING` (a new snapshot) the established
// connection keeps its binding while a new one is no longer forwarded.
func TestNATPortForward(t *testing.T) {
	st := natStack(t)
	natOpen(t, st)
	var ct *conntrack.Conn
	st.CT.Each(ctT0, func(c *conntrack.Conn) { ct = c })
	if ct == nil {
		t.Fatal("no conntrack entry")
	}
	want := conntrack.Tuple{Src: ctServer, Dst: ctHostServerSide, SrcPort: 22, DstPort: 40000, Proto: 6}
	if got := ct.Tuple(conntrack.Reply); got != want {
		t.Fatalf("reply tuple %+v, want %+v", got, want)
	}
	if ct.Status()&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) != conntrack.StatusSrcNAT|conntrack.StatusDstNAT {
		t.Fatalf("status %#x lacks SRC_NAT/DST_NAT", ct.Status())
	}
	if a, port, ok := nat.OriginalDst(st.CT, ctServer, 22, ctHostServerSide, 40000, ctT0); !ok || a != ctHost || port != 2222 {
		t.Fatalf("OriginalDst: %08x:%d %v", a, port, ok)
	}

	rs := load(t, natRules)
	for _, c := range rs.Table("nat").Chains {
		if c.Name == "PREROUTING" {
			c.Rules = nil
		}
	}
	if err := st.Engine.Swap(rs); err != nil {
		t.Fatal(err)
	}
	p, o := natRecv(t, st, ctTCP(ctClient, ctHost, 40000, 2222, packet.TCPAck|packet.TCPPsh, 1001, 5001), "eth0")
	if !o.Sent {
		t.Fatalf("established packet not forwarded after the flush: %+v", o)
	}
	if _, d, _, dp := tuple4(p.B); d != ctServer || dp != 22 {
		t.Fatal("established packet lost its binding after the flush")
	}
	if _, o := natRecv(t, st, ctTCP(ctClient, ctHost, 40001, 2222, packet.TCPSyn, 1000, 0), "eth0"); o.Sent || !o.Local {
		t.Fatalf("a new connection was still forwarded after the flush: %+v", o)
	}
}

// TestNATEstablishedNoAllocs: a NATed established packet allocates
// nothing.
func TestNATEstablishedNoAllocs(t *testing.T) {
	st := natStack(t)
	raw := natOpen(t, st)
	buf := make([]byte, len(raw))
	var p xt.Pkt
	if n := testing.AllocsPerRun(1000, func() { natLoop(t, st, raw, buf, &p) }); n != 0 {
		t.Fatalf("%.1f allocations per packet", n)
	}
}

func natLoop(t testing.TB, st *Stack, raw, buf []byte, p *xt.Pkt) {
	copy(buf, raw)
	*p = xt.Pkt{Time: ctT0}
	p.Decode(buf)
	o := st.Receive(p, "eth0", nil)
	if !o.Sent || p.Dst != ctServer {
		t.Fatalf("not forwarded to the server: %+v", o)
	}
}

// BenchmarkNATEstablished: Stack.Receive of a DNATed and SNATed
// established packet (both rewrites, checksums updated).
func BenchmarkNATEstablished(b *testing.B) {
	st := natStack(b)
	raw := natOpen(b, st)
	buf := make([]byte, len(raw))
	var p xt.Pkt
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		natLoop(b, st, raw, buf, &p)
	}
}

// BenchmarkNATNewConnections: the first packet of new port-forwarded
// connections from distinct clients (nat table traversal at PREROUTING
// and POSTROUTING, the unique tuple search, both rewrites, confirmation)
// into a table of up to 50,000 entries: every 50,000 connections the
// table starts again (outside the timing), since all of them are SNATed
// to one address and port 22 of one server, which has room for 64,512.
func BenchmarkNATNewConnections(b *testing.B) {
	st := natStack(b)
	syn := ctTCP(ctClient, ctHost, 40000, 2222, packet.TCPSyn, 1000, 0)
	buf := make([]byte, len(syn))
	var p xt.Pkt
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%50000 == 0 {
			b.StopTimer()
			st.CT = conntrack.NewTable(conntrack.DefaultConfig())
			b.StartTimer()
		}
		copy(buf, syn)
		// A distinct client port and address (10.0.x.1) for each
		// connection, checksums fixed up as a sender would.
		binary.BigEndian.PutUint16(buf[20:], uint16(1024+i%50000))
		binary.BigEndian.PutUint32(buf[12:], 0x0a000001|uint32(i/50000)%250<<8)
		fixSums(buf)
		p = xt.Pkt{Time: ctT0}
		p.Decode(buf)
		if o := st.Receive(&p, "eth0", nil); !o.Sent {
			b.Fatalf("connection %d not forwarded: %+v", i, o)
		}
	}
}

func fixSums(b []byte) {
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:20], 0))
	src, dst := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:])
	l4 := b[20:]
	l4[16], l4[17] = 0, 0
	init := src>>16 + src&0xFFFF + dst>>16 + dst&0xFFFF + uint32(b[9]) + uint32(len(l4))
	binary.BigEndian.PutUint16(l4[16:], packet.Checksum16(l4, init))
}

// FuzzNAT: any sequence of packets, arriving on either side, through a
// host running every NAT target (DNAT, SNAT, MASQUERADE, REDIRECT,
// NETMAP) never panics, and what leaves keeps valid IP header checksums.
// Each input is a list of packets, each a byte for the interface and
// two for the length, then the packet. TCPMSS rewrites SYNs on the way;
// TTL, ECN and CHECKSUM rewrite headers too, quota and ecn match.
func FuzzNAT(f *testing.F) {
	syn := ctTCP(ctClient, ctHost, 40000, 2222, packet.TCPSyn, 1000, 0)
	synAck := ctTCP(ctServer, ctHostServerSide, 22, 40000, packet.TCPSyn|packet.TCPAck, 5000, 1001)
	udp := packet.Build(&packet.Spec{Src: ctClient, Dst: ctServer, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 53, PayloadLen: 4})
	ping := packet.Build(&packet.Spec{Src: ctClient, Dst: 0x0a020007, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 7, TotalLen: 60})
	errq := packet.Build(&packet.Spec{Src: ctServer, Dst: ctHostServerSide, Proto: packet.ProtoICMP, ICMPType: 3, ICMPCode: 3, TotalLen: 56})
	copy(errq[28:], udp)
	frame := func(in byte, pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = append(b, in, byte(len(p)>>8), byte(len(p)))
			b = append(b, p...)
		}
		return b
	}
	f.Add(frame(0, syn))
	f.Add(append(frame(0, syn), frame(1, synAck)...))
	f.Add(append(frame(0, udp, ping), frame(1, errq)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		eng, err := New(load(t, natFuzzRules))
		if err != nil {
			t.Fatal(err)
		}
		h := ctHostModel()
		st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil), CT: conntrack.NewTable(conntrack.DefaultConfig())}
		for n := 0; len(data) >= 3 && n < 64; n++ {
			in := []string{"eth0", "eth1", "lo", ""}[data[0]%4]
			l := int(data[1])<<8 | int(data[2])
			data = data[3:]
			if l > len(data) {
				l = len(data)
			}
			b := append([]byte(nil), data[:l]...)
			data = data[l:]
			p := &xt.Pkt{Time: ctT0 + int64(n)*1e6}
			if p.Decode(b) != nil {
				continue
			}
			var o Outcome
			if in == "" {
				o = st.Send(p)
			} else {
				o = st.Receive(p, in, nil)
			}
			if o.Sent && o.Fragments == nil && packet.Checksum16(p.B[:p.IHL], 0) != 0 {
				t.Fatalf("sent a packet with a bad IP header checksum: %x", p.B)
			}
		}
	})
}

const natFuzzRules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.0.0.2/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.1.0.5:22
-A PREROUTING -d 10.2.0.0/16 -j NETMAP --to 10.1.0.0/16
-A PREROUTING -i eth0 -p udp -m udp --dport 53 -j REDIRECT --to-ports 5353
-A PREROUTING -p tcp -m tcp --dport 3000:3100 -j DNAT --to-destination 10.1.0.5-10.1.0.9:4000-4010
-A INPUT -p udp -j SNAT --to-source 10.0.0.2:1000-1010
-A OUTPUT -d 10.9.9.9/32 -j DNAT --to-destination 10.1.0.5
-A POSTROUTING -o eth1 -p udp -j MASQUERADE --to-ports 20000-20005 --random
-A POSTROUTING -o eth1 -p tcp -j SNAT --to-source 10.1.0.1:30000-30001
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A OUTPUT -p tcp -m tcp --tcp-flags SYN SYN -j TCPMSS --set-mss 1000
-A POSTROUTING -p tcp -m tcp --syn -j TCPMSS --set-mss 600
-A PREROUTING -p udp -j TTL --ttl-dec 1
-A PREROUTING -p tcp -j ECN --ecn-tcp-remove --ecn-ip-ect 1
-A FORWARD -m quota --quota 5000 -m ecn --ecn-ip-ect 1 -j MARK --set-xmark 0x1/0xffffffff
-A POSTROUTING -p udp -j CHECKSUM --checksum-fill
COMMIT
`

// TestNATICMPError: the server's port unreachable about a port-forwarded
// UDP datagram reaches the client from the address the client spoke to,
// quoting the datagram as the client sent it, every checksum valid.
func TestNATICMPError(t *testing.T) {
	eng, err := New(load(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.0.0.2/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
`))
	if err != nil {
		t.Fatal(err)
	}
	h := ctHostModel()
	st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil), CT: conntrack.NewTable(conntrack.DefaultConfig())}
	u := packet.Build(&packet.Spec{Src: ctClient, Dst: ctHost, Proto: packet.ProtoUDP, SrcPort: 4000, DstPort: 5353, PayloadLen: 6})
	p, o := natRecv(t, st, u, "eth0")
	if !o.Sent {
		t.Fatalf("datagram not forwarded: %+v", o)
	}
	atServer := append([]byte(nil), p.B...)
	e := packet.Build(&packet.Spec{Src: ctServer, Dst: ctHostServerSide, Proto: packet.ProtoICMP, ICMPType: 3, ICMPCode: 3, TotalLen: 28 + len(atServer)})
	copy(e[28:], atServer)
	e[22], e[23] = 0, 0
	binary.BigEndian.PutUint16(e[22:], packet.Checksum16(e[20:], 0))
	p, o = natRecv(t, st, e, "eth1")
	if !o.Sent || o.OutIface != "eth0" {
		t.Fatalf("ICMP error not forwarded to the client: %+v", o)
	}
	b := p.B
	if s, d, _, _ := tuple4(b); s != ctHost || d != ctClient {
		t.Fatalf("outer header %08x -> %08x", s, d)
	}
	if packet.Checksum16(b[:20], 0) != 0 || packet.Checksum16(b[20:], 0) != 0 {
		t.Fatalf("checksums invalid: %x", b)
	}
	inner := b[28:]
	if s, d, sp, dp := tuple4(inner); s != ctClient || d != ctHost || sp != 4000 || dp != 5353 {
		t.Fatalf("quoted %08x:%d -> %08x:%d, want the datagram as sent", s, sp, d, dp)
	}
	checkSums(t, inner)
}

// TestNATPortRangeExhausted: two connections share a two-port SNAT range
// (each gets one of the ports); a third finds none free, and its packet
// is dropped when its entry clashes at confirmation, as the kernel does.
func TestNATPortRangeExhausted(t *testing.T) {
	eng, err := New(load(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -p tcp -j SNAT --to-source 10.1.0.1:30000-30001
COMMIT
`))
	if err != nil {
		t.Fatal(err)
	}
	h := ctHostModel()
	st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil), CT: conntrack.NewTable(conntrack.DefaultConfig())}
	ports := map[uint16]bool{}
	for i := uint32(0); i < 3; i++ {
		p, o := natRecv(t, st, ctTCP(ctClient+i*0x100, ctServer, 40000, 80, packet.TCPSyn, 1000, 0), "eth0")
		if i < 2 {
			if !o.Sent {
				t.Fatalf("connection %d not sent: %+v", i, o)
			}
			_, _, sp, _ := tuple4(p.B)
			ports[sp] = true
			continue
		}
		if o.Sent || o.Verdict != xt.VerdictDrop || o.Steps[o.NSteps-1].Result.Table != "conntrack" {
			t.Fatalf("third connection: %+v", o)
		}
	}
	if !ports[30000] || !ports[30001] {
		t.Fatalf("ports used: %v", ports)
	}
}

// TestHelperWithNATRefused: the ftp helper with NAT would need the
// kernel's nf_nat_ftp; nfgo says so rather than break FTP silently.
func TestHelperWithNATRefused(t *testing.T) {
	_, err := New(load(t, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
`))
	if err == nil || err.Error() != "target `CT' with --helper ftp together with MASQUERADE has no packet logic in nfgo yet (the kernel's NAT helper, which rewrites the addresses inside the ftp protocol, is not modelled)" {
		t.Fatalf("got %v", err)
	}
}
