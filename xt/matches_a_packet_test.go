package xt

import (
	"bufio"
	"encoding/binary"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/packet"
)

// Packet logic of matches group A (udp, icmp, multiport, comment, length,
// mark, iprange, mac, pkttype, ttl), checked against what the kernel's
// match functions do (Linux 6.18: xt_tcpudp.c, xt_multiport.c,
// xt_comment.c, xt_length.c, xt_mark.c, xt_iprange.c, xt_mac.c,
// xt_pkttype.c, xt_hl.c).

const (
	ipA = 0x0a000001 // 10.0.0.1
	ipB = 0x0a000002 // 10.0.0.2
)

var (
	macHere  = []byte{0x02, 0, 0, 0, 0, 0x0b}
	macThere = []byte{0x02, 0, 0, 0, 0, 0x0a}
)

func ethHdr(dst, src []byte) []byte {
	h := make([]byte, 14)
	copy(h, dst)
	copy(h[6:], src)
	h[12] = 0x08
	return h
}

// truncIP cuts an IPv4 packet to n bytes, fixing the total length and the
// header checksum so that it still decodes (a short transport header).
func truncIP(b []byte, n int) []byte {
	b = append([]byte(nil), b[:n]...)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	ihl := int(b[0]&0x0F) * 4
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:ihl], 0))
	return b
}

type pktOpt func(p *Pkt)

// received: the packet arrived on an Ethernet device with this header.
func received(hook Hook, mac []byte) pktOpt {
	return func(p *Pkt) {
		p.Hook, p.InIface, p.MAC, p.InEther, p.InHardHeaderLen = hook, "eth0", mac, true, 14
	}
}

func local(hook Hook) pktOpt {
	return func(p *Pkt) { p.Hook, p.OutIface = hook, "eth0" }
}

func withMark(m uint32) pktOpt { return func(p *Pkt) { p.Mark = m } }

func mkPkt(t testing.TB, raw []byte, opts ...pktOpt) *Pkt {
	t.Helper()
	p := &Pkt{}
	if err := p.Decode(raw); err != nil {
		t.Fatalf("decode: %v", err)
	}
	p.Hook = HookLocalIn
	for _, o := range opts {
		o(p)
	}
	return p
}

func mkMatcher(t testing.TB, d *Def, proto uint8, args string) Matcher {
	t.Helper()
	in, _, err := buildExt(d, proto, strings.Fields(args)...)
	if err != nil {
		t.Fatalf("%s %s: %v", d.Name, args, err)
	}
	m, ok := in.Ext.(Matcher)
	if !ok {
		t.Fatalf("%s has no packet logic", d.Name)
	}
	return m
}

func udpPkt(sp, dp uint16) []byte {
	return packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoUDP, SrcPort: sp, DstPort: dp})
}

func tcpPkt(sp, dp uint16) []byte {
	return packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoTCP, SrcPort: sp, DstPort: dp, TCPFlags: packet.TCPSyn})
}

func icmpPkt(typ, code uint8) []byte {
	return packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoICMP, ICMPType: typ, ICMPCode: code})
}

type matchCase struct {
	name    string
	def     *Def
	proto   uint8
	args    string
	raw     []byte
	opts    []pktOpt
	want    bool
	hotdrop bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		m := mkMatcher(t, tc.def, tc.proto, tc.args)
		p := mkPkt(t, tc.raw, tc.opts...)
		got := m.Match(p)
		if got != tc.want || p.HotDrop != tc.hotdrop {
			t.Errorf("%s: -m %s %s: match %v hotdrop %v, want %v %v", tc.name, tc.def.Name, tc.args, got, p.HotDrop, tc.want, tc.hotdrop)
		}
	}
}

func TestUDPMatchPacket(t *testing.T) {
	full := udpPkt(40000, 53)
	firstFrag := packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoUDP, SrcPort: 40000, DstPort: 53, MF: true})
	laterFrag := packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoUDP, FragOffset: 1, PayloadLen: 16})
	runMatchCases(t, []matchCase{
		{"dport", &udpMatch, 17, "--dport 53", full, nil, true, false},
		{"dport other", &udpMatch, 17, "--dport 54", full, nil, false, false},
		{"dport inverted", &udpMatch, 17, "! --dport 54", full, nil, true, false},
		{"dport range", &udpMatch, 17, "--dport 50:60", full, nil, true, false},
		{"sport and dport", &udpMatch, 17, "--sport 1024: --dport 53", full, nil, true, false},
		{"sport fails", &udpMatch, 17, "--sport :1023 --dport 53", full, nil, false, false},
		{"sport inverted fails", &udpMatch, 17, "! --sport 40000", full, nil, false, false},
		{"no options", &udpMatch, 17, "", full, nil, true, false},
		{"first fragment", &udpMatch, 17, "--dport 53", firstFrag, nil, true, false},
		{"later fragment", &udpMatch, 17, "", laterFrag, nil, false, false},
		{"later fragment inverted", &udpMatch, 17, "! --dport 53", laterFrag, nil, false, false},
		{"tinygram", &udpMatch, 17, "", truncIP(full, 20+7), nil, false, true},
		{"tinygram inverted", &udpMatch, 17, "! --dport 1", truncIP(full, 20+4), nil, false, true},
		{"header only", &udpMatch, 17, "--dport 53", truncIP(full, 28), nil, true, false},
	})
}

func TestICMPMatchPacket(t *testing.T) {
	echo := icmpPkt(8, 0)
	unreach := icmpPkt(3, 3)
	laterFrag := packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoICMP, FragOffset: 10, PayloadLen: 16})
	runMatchCases(t, []matchCase{
		{"name", &icmpMatch, 1, "--icmp-type echo-request", echo, nil, true, false},
		{"name other", &icmpMatch, 1, "--icmp-type echo-reply", echo, nil, false, false},
		{"inverted", &icmpMatch, 1, "! --icmp-type echo-reply", echo, nil, true, false},
		{"any", &icmpMatch, 1, "--icmp-type any", unreach, nil, true, false},
		{"any inverted", &icmpMatch, 1, "! --icmp-type any", unreach, nil, false, false},
		{"255 with codes is still any", &icmpMatch, 1, "--icmp-type 255/7", unreach, nil, true, false},
		{"code", &icmpMatch, 1, "--icmp-type 3/3", unreach, nil, true, false},
		{"code other", &icmpMatch, 1, "--icmp-type port-unreachable", icmpPkt(3, 1), nil, false, false},
		{"code range", &icmpMatch, 1, "--icmp-type 3/1:5", unreach, nil, true, false},
		{"code range low", &icmpMatch, 1, "--icmp-type 3/1:5", icmpPkt(3, 0), nil, false, false},
		{"code range high", &icmpMatch, 1, "--icmp-type 3/1:5", icmpPkt(3, 6), nil, false, false},
		{"reversed code range", &icmpMatch, 1, "--icmp-type 3/5:1", unreach, nil, false, false},
		{"type with all codes", &icmpMatch, 1, "--icmp-type 3", icmpPkt(3, 200), nil, true, false},
		{"later fragment", &icmpMatch, 1, "--icmp-type any", laterFrag, nil, false, false},
		{"later fragment inverted", &icmpMatch, 1, "! --icmp-type 8", laterFrag, nil, false, false},
		{"short header", &icmpMatch, 1, "--icmp-type any", truncIP(echo, 27), nil, false, true},
		{"short header inverted", &icmpMatch, 1, "! --icmp-type 3", truncIP(echo, 22), nil, false, true},
	})
}

func TestMultiportMatchPacket(t *testing.T) {
	syn := tcpPkt(40000, 443)
	runMatchCases(t, []matchCase{
		{"dports list", &multiportMatch, 6, "--dports 22,80,443", syn, nil, true, false},
		{"dports miss", &multiportMatch, 6, "--dports 22,80", syn, nil, false, false},
		{"dports range", &multiportMatch, 6, "--dports 22,400:500", syn, nil, true, false},
		{"dports range edge", &multiportMatch, 6, "--dports 443:444", syn, nil, true, false},
		{"dports range miss", &multiportMatch, 6, "--dports 444:500,1", syn, nil, false, false},
		{"dports inverted", &multiportMatch, 6, "! --dports 22,80", syn, nil, true, false},
		{"dports inverted hit", &multiportMatch, 6, "! --dports 22,443", syn, nil, false, false},
		{"sports", &multiportMatch, 6, "--sports 1024:65535", syn, nil, true, false},
		{"sports is not dports", &multiportMatch, 6, "--sports 443", syn, nil, false, false},
		{"ports either (dst)", &multiportMatch, 6, "--ports 443", syn, nil, true, false},
		{"ports either (src)", &multiportMatch, 6, "--ports 39000:41000", syn, nil, true, false},
		{"ports inverted", &multiportMatch, 6, "! --ports 40000", syn, nil, false, false},
		{"udp", &multiportMatch, 17, "--dports 53,123", udpPkt(5000, 123), nil, true, false},
		{"later fragment", &multiportMatch, 6, "! --dports 1", packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoTCP, FragOffset: 3, PayloadLen: 8}), nil, false, false},
		// Only the two ports are needed: a 4-byte transport header is enough.
		{"4 bytes", &multiportMatch, 6, "--dports 443", truncIP(syn, 24), nil, true, false},
		{"3 bytes", &multiportMatch, 6, "! --dports 1", truncIP(syn, 23), nil, false, true},
	})
}

func TestSimpleMatchesPacket(t *testing.T) {
	p84 := packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoICMP, ICMPType: 8, TotalLen: 84, TTL: 64})
	runMatchCases(t, []matchCase{
		{"comment", &commentMatch, 0, "--comment hello", p84, nil, true, false},

		{"length exact", &lengthMatch, 0, "--length 84", p84, nil, true, false},
		{"length other", &lengthMatch, 0, "--length 85", p84, nil, false, false},
		{"length range", &lengthMatch, 0, "--length 60:100", p84, nil, true, false},
		{"length open range", &lengthMatch, 0, "--length 85:", p84, nil, false, false},
		{"length inverted", &lengthMatch, 0, "! --length :83", p84, nil, true, false},

		{"mark", &markMatch, 0, "--mark 0x2a", p84, []pktOpt{withMark(0x2a)}, true, false},
		{"mark other", &markMatch, 0, "--mark 0x2a", p84, []pktOpt{withMark(0x12a)}, false, false},
		{"mark mask", &markMatch, 0, "--mark 0x2a/0xff", p84, []pktOpt{withMark(0x12a)}, true, false},
		{"mark inverted", &markMatch, 0, "! --mark 0x1/0x1", p84, []pktOpt{withMark(2)}, true, false},
		// mark & mask can never equal a value outside the mask.
		{"mark value outside mask", &markMatch, 0, "--mark 0x3/0x1", p84, []pktOpt{withMark(3)}, false, false},

		{"ttl eq", &ttlMatch, 0, "--ttl-eq 64", p84, nil, true, false},
		{"ttl ne", &ttlMatch, 0, "! --ttl-eq 64", p84, nil, false, false},
		{"ttl alias", &ttlMatch, 0, "--ttl 63", p84, nil, false, false},
		{"ttl lt", &ttlMatch, 0, "--ttl-lt 65", p84, nil, true, false},
		{"ttl lt equal", &ttlMatch, 0, "--ttl-lt 64", p84, nil, false, false},
		{"ttl gt", &ttlMatch, 0, "--ttl-gt 63", p84, nil, true, false},
		{"ttl gt equal", &ttlMatch, 0, "--ttl-gt 64", p84, nil, false, false},
		{"ttl gt 255", &ttlMatch, 0, "--ttl-gt 255", packet.Build(&packet.Spec{Src: ipA, Dst: ipB, TTL: 255}), nil, false, false},
	})
	// A descending range (1.8.9 accepts "--length 100:60", 1.8.13 refuses
	// it) never matches unless inverted.
	p := mkPkt(t, p84)
	if (&Length{Min: 100, Max: 60}).Match(p) || !(&Length{Min: 100, Max: 60, Invert: 1}).Match(p) {
		t.Errorf("descending length range")
	}
}

func TestIPRangeMatchPacket(t *testing.T) {
	raw := udpPkt(1, 2) // 10.0.0.1 -> 10.0.0.2
	runMatchCases(t, []matchCase{
		{"src in", &iprangeMatch, 0, "--src-range 10.0.0.0-10.0.0.1", raw, nil, true, false},
		{"src single", &iprangeMatch, 0, "--src-range 10.0.0.1", raw, nil, true, false},
		{"src out", &iprangeMatch, 0, "--src-range 10.0.0.2-10.0.0.9", raw, nil, false, false},
		{"src inverted", &iprangeMatch, 0, "! --src-range 10.0.0.2-10.0.0.9", raw, nil, true, false},
		{"dst in", &iprangeMatch, 0, "--dst-range 9.255.255.255-10.0.0.2", raw, nil, true, false},
		{"both", &iprangeMatch, 0, "--src-range 10.0.0.1 --dst-range 10.0.0.2", raw, nil, true, false},
		{"both, dst fails", &iprangeMatch, 0, "--src-range 10.0.0.1 --dst-range 10.0.0.3-10.0.0.4", raw, nil, false, false},
		{"both, dst inverted", &iprangeMatch, 0, "--src-range 10.0.0.1 ! --dst-range 10.0.0.3-10.0.0.4", raw, nil, true, false},
		// Compared as numbers, not byte by byte: 10.0.0.2 is below 10.0.1.0.
		{"numeric order", &iprangeMatch, 0, "--dst-range 10.0.0.3-10.0.1.0", raw, nil, false, false},
		{"reversed", &iprangeMatch, 0, "--src-range 10.0.0.9-10.0.0.0", raw, nil, false, false},
		{"reversed inverted", &iprangeMatch, 0, "! --src-range 10.0.0.9-10.0.0.0", raw, nil, true, false},
	})
}

func TestMACMatchPacket(t *testing.T) {
	raw := udpPkt(1, 2)
	hdr := ethHdr(macHere, macThere)
	there := "--mac-source 02:00:00:00:00:0a"
	runMatchCases(t, []matchCase{
		{"source", &macMatch, 0, there, raw, []pktOpt{received(HookPreRouting, hdr)}, true, false},
		{"source inverted", &macMatch, 0, "! " + there, raw, []pktOpt{received(HookPreRouting, hdr)}, false, false},
		{"destination is not source", &macMatch, 0, "--mac-source 02:00:00:00:00:0b", raw, []pktOpt{received(HookLocalIn, hdr)}, false, false},
		{"other inverted", &macMatch, 0, "! --mac-source 02:00:00:00:00:0b", raw, []pktOpt{received(HookForward, hdr)}, true, false},
		// No Ethernet header (a TUN device, or none at all): false even
		// when inverted.
		{"no header", &macMatch, 0, "! " + there, raw, []pktOpt{func(p *Pkt) { p.InIface, p.InEther = "tun0", false }}, false, false},
		{"short header", &macMatch, 0, "! --mac-source 02:00:00:00:00:0b", raw, []pktOpt{received(HookPreRouting, hdr[:13])}, false, false},
		// The loopback device is ARPHRD_LOOPBACK, not Ethernet: the kernel
		// never matches there, inverted or not.
		{"not ethernet", &macMatch, 0, "! --mac-source 02:00:00:00:00:0b", raw, []pktOpt{received(HookLocalIn, hdr), func(p *Pkt) { p.InEther = false }}, false, false},
	})
}

func TestPktTypeMatchPacket(t *testing.T) {
	uni := udpPkt(1, 2)
	bcastIP := packet.Build(&packet.Spec{Src: ipA, Dst: 0x0a0000ff, Proto: packet.ProtoUDP})
	mcastIP := packet.Build(&packet.Spec{Src: ipA, Dst: 0xe0000001, Proto: packet.ProtoUDP})
	bcastMAC := ethHdr([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, macThere)
	mcastMAC := ethHdr([]byte{0x01, 0x00, 0x5e, 0, 0, 1}, macThere)
	uniMAC := ethHdr(macHere, macThere)
	// A looped-back copy of a packet this host sent: the input device has
	// a header, the packet none.
	loopedBack := func(p *Pkt) {
		p.Hook, p.InIface, p.MAC, p.InEther, p.InHardHeaderLen = HookPreRouting, "eth0", nil, true, 14
	}
	tun := func(p *Pkt) {
		p.Hook, p.InIface, p.MAC, p.InEther, p.InHardHeaderLen = HookLocalIn, "tun0", nil, false, 0
	}
	runMatchCases(t, []matchCase{
		{"received unicast", &pkttypeMatch, 0, "--pkt-type unicast", uni, []pktOpt{received(HookPreRouting, uniMAC)}, true, false},
		{"received broadcast", &pkttypeMatch, 0, "--pkt-type broadcast", bcastIP, []pktOpt{received(HookLocalIn, bcastMAC)}, true, false},
		{"received broadcast is not unicast", &pkttypeMatch, 0, "--pkt-type unicast", bcastIP, []pktOpt{received(HookLocalIn, bcastMAC)}, false, false},
		{"received multicast", &pkttypeMatch, 0, "--pkt-type multicast", mcastIP, []pktOpt{received(HookPreRouting, mcastMAC)}, true, false},
		{"received multicast inverted", &pkttypeMatch, 0, "! --pkt-type multicast", mcastIP, []pktOpt{received(HookPreRouting, mcastMAC)}, false, false},
		// The link layer decides, not the IP destination (checked
		// against the kernel).
		{"multicast IP in a unicast frame", &pkttypeMatch, 0, "--pkt-type unicast", mcastIP, []pktOpt{received(HookPreRouting, uniMAC)}, true, false},
		{"unicast IP in a broadcast frame", &pkttypeMatch, 0, "--pkt-type broadcast", uni, []pktOpt{received(HookPreRouting, bcastMAC)}, true, false},
		{"otherhost never seen", &pkttypeMatch, 0, "--pkt-type otherhost", uni, []pktOpt{received(HookPreRouting, ethHdr(macThere, macThere))}, false, false},
		{"forwarded", &pkttypeMatch, 0, "--pkt-type host", uni, []pktOpt{received(HookForward, uniMAC)}, true, false},
		{"looped back broadcast", &pkttypeMatch, 0, "--pkt-type broadcast", bcastIP, []pktOpt{loopedBack}, true, false},
		{"looped back multicast", &pkttypeMatch, 0, "--pkt-type multicast", mcastIP, []pktOpt{loopedBack}, true, false},
		{"looped back broadcast to 255.255.255.255", &pkttypeMatch, 0, "--pkt-type bcast",
			packet.Build(&packet.Spec{Src: ipA, Dst: 0xffffffff, Proto: packet.ProtoUDP}), []pktOpt{loopedBack}, true, false},
		{"headerless device", &pkttypeMatch, 0, "--pkt-type unicast", mcastIP, []pktOpt{tun}, true, false},
		// Locally generated packets are PACKET_HOST whatever the
		// destination, in OUTPUT and POSTROUTING (checked against the
		// kernel with a broadcast ping and a multicast datagram).
		{"output broadcast", &pkttypeMatch, 0, "--pkt-type unicast", bcastIP, []pktOpt{local(HookLocalOut)}, true, false},
		{"output multicast", &pkttypeMatch, 0, "--pkt-type multicast", mcastIP, []pktOpt{local(HookLocalOut)}, false, false},
		{"postrouting multicast", &pkttypeMatch, 0, "! --pkt-type unicast", mcastIP, []pktOpt{local(HookPostRouting)}, false, false},
	})
}

// Match must not allocate: the packet path runs it for every packet.
func TestMatchesAPacketNoAllocs(t *testing.T) {
	raw := packet.Build(&packet.Spec{Src: ipA, Dst: ipB, Proto: packet.ProtoUDP, SrcPort: 40000, DstPort: 53})
	cases := []struct {
		def   *Def
		proto uint8
		args  string
		raw   []byte
	}{
		{&udpMatch, 17, "--sport 1024: ! --dport 54", raw},
		{&icmpMatch, 1, "! --icmp-type 3/1:5", icmpPkt(3, 3)},
		{&multiportMatch, 17, "--dports 1,2,3:5,40000,53", raw},
		{&commentMatch, 0, "--comment x", raw},
		{&lengthMatch, 0, "--length 10:100", raw},
		{&markMatch, 0, "! --mark 1/3", raw},
		{&iprangeMatch, 0, "--src-range 10.0.0.0-10.0.0.9 ! --dst-range 1.1.1.1", raw},
		{&macMatch, 0, "--mac-source 02:00:00:00:00:0a", raw},
		{&pkttypeMatch, 0, "--pkt-type multicast", raw},
		{&ttlMatch, 0, "--ttl-gt 3", raw},
	}
	for _, tc := range cases {
		m := mkMatcher(t, tc.def, tc.proto, tc.args)
		p := mkPkt(t, tc.raw, received(HookPreRouting, ethHdr(macHere, macThere)))
		if n := testing.AllocsPerRun(100, func() { m.Match(p) }); n != 0 {
			t.Errorf("%s: %v allocations per Match", tc.def.Name, n)
		}
	}
}

// StoreSave writes an icmp match that parses back to the same struct.
func TestICMPStoreSaveRoundTrip(t *testing.T) {
	for _, arg := range []string{"3/1:5", "3/0:5", "3/5:1", "3/7:255", "255/3:7", "255/0:255", "any", "3/0:0", "3", "echo-request", "host-unreachable", "0x3/0x1:0x2", "255/255"} {
		for _, inv := range []string{"", "! "} {
			in, c, err := buildExt(&icmpMatch, 1, strings.Fields(inv+"--icmp-type "+arg)...)
			if err != nil {
				t.Fatalf("%s: %v", arg, err)
			}
			var b strings.Builder
			in.Ext.(StoreSaver).StoreSave(&b, c)
			in2, _, err := buildExt(&icmpMatch, 1, strings.Fields(b.String())...)
			if err != nil {
				t.Fatalf("%s: store form %q: %v", arg, b.String(), err)
			}
			if *in.Ext.(*ICMP) != *in2.Ext.(*ICMP) {
				t.Errorf("%s%s: store form %q reads back as %+v, want %+v", inv, arg, b.String(), *in2.Ext.(*ICMP), *in.Ext.(*ICMP))
			}
		}
	}
}

func TestIPRangeReversedWarning(t *testing.T) {
	tests := []struct {
		args string
		warn string
	}{
		{"--src-range 10.0.0.5-10.0.0.1", "xt_iprange: range 10.0.0.5-10.0.0.1 is reversed and will never match"},
		// The parts are quoted as typed.
		{"! --dst-range 10.5-10.0.0.1", "xt_iprange: range 10.5-10.0.0.1 is reversed and will never match"},
		{"--src-range 10.0.0.1-10.0.0.5", ""},
		{"--src-range 10.0.0.1-10.0.0.1", ""},
		{"--src-range 10.0.0.9", ""},
	}
	for _, tc := range tests {
		in := NewInstance(&iprangeMatch)
		var got []string
		c := &Ctx{Family: FamilyIPv4, Warn: func(s string) { got = append(got, s) }}
		w := strings.Fields(tc.args)
		inv := w[0] == "!"
		if inv {
			w = w[1:]
		}
		idx := 0
		if w[0] == "--dst-range" {
			idx = 1
		}
		if err := in.ParseOption(c, idx, w[1], true, inv); err != nil {
			t.Fatalf("%s: %v", tc.args, err)
		}
		if strings.Join(got, "\n") != tc.warn {
			t.Errorf("%s: warnings %q, want %q", tc.args, got, tc.warn)
		}
	}
}

// TestKernelMatchesAPacket sends real traffic from one namespace to
// another (unicast, broadcast and multicast pings, a fragmented ping,
// pings with a low TTL, UDP and TCP), counts it in the receiver's
// PREROUTING with one iptables-legacy rule per case, captures the same
// frames with tcpdump, runs each captured frame through nfgo's Match for
// every rule and compares the counts with the kernel's.
func TestKernelMatchesAPacket(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("kernel comparison needs root, network namespaces and iptables-legacy: " + why)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("kernel comparison needs tcpdump")
	}
	a, b := netns.New(t), netns.New(t)
	const macA, macB = "02:00:00:00:02:0a", "02:00:00:00:02:0b"
	if out, err := exec.Command("ip", "link", "add", "va", "netns", a.Name, "address", macA, "type", "veth", "peer", "name", "vb", "netns", b.Name, "address", macB).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	a.MustRun(t, "ip", "addr", "add", "10.78.0.1/24", "dev", "va")
	b.MustRun(t, "ip", "addr", "add", "10.78.0.2/24", "dev", "vb")
	a.MustRun(t, "ip", "link", "set", "va", "up")
	b.MustRun(t, "ip", "link", "set", "vb", "up")
	a.MustRun(t, "ip", "route", "add", "224.0.0.0/4", "dev", "va")

	rules := []struct {
		proto uint8
		def   *Def
		args  string
	}{
		{17, &udpMatch, "--dport 9999"},
		{17, &udpMatch, "! --dport 9999"},
		{17, &udpMatch, "--sport 1024:65535 --dport 9000:9998"},
		{1, &icmpMatch, "--icmp-type echo-request"},
		{1, &icmpMatch, "! --icmp-type 8/0"},
		{1, &icmpMatch, "--icmp-type any"},
		{1, &icmpMatch, "! --icmp-type any"},
		{1, &icmpMatch, "--icmp-type 8/1:5"},
		{17, &multiportMatch, "--dports 53,9990:9999"},
		{6, &multiportMatch, "! --ports 22"},
		{6, &multiportMatch, "--dports 1:1023"},
		{0, &commentMatch, "--comment x"},
		{0, &lengthMatch, "--length 84"},
		{0, &lengthMatch, "--length 100:1500"},
		{0, &lengthMatch, "! --length 0:100"},
		{0, &markMatch, "--mark 0"},
		{0, &markMatch, "! --mark 1/1"},
		{0, &iprangeMatch, "--src-range 10.78.0.1-10.78.0.1"},
		{0, &iprangeMatch, "! --dst-range 10.78.0.0-10.78.0.254"},
		{0, &iprangeMatch, "--dst-range 224.0.0.0-239.255.255.255"},
		{0, &macMatch, "--mac-source " + macA},
		{0, &macMatch, "! --mac-source " + macA},
		{0, &macMatch, "! --mac-source " + macB},
		{0, &pkttypeMatch, "--pkt-type unicast"},
		{0, &pkttypeMatch, "--pkt-type broadcast"},
		{0, &pkttypeMatch, "--pkt-type multicast"},
		{0, &pkttypeMatch, "--pkt-type otherhost"},
		{0, &pkttypeMatch, "! --pkt-type unicast"},
		{0, &ttlMatch, "--ttl-eq 64"},
		{0, &ttlMatch, "--ttl-lt 10"},
		{0, &ttlMatch, "--ttl-gt 5"},
		{0, &ttlMatch, "! --ttl-eq 64"},
	}
	ms := make([]Matcher, len(rules))
	for i, r := range rules {
		ms[i] = mkMatcher(t, r.def, r.proto, r.args)
		args := []string{"iptables-legacy", "-t", "mangle", "-A", "PREROUTING"}
		if r.proto != 0 {
			args = append(args, "-p", strconv.Itoa(int(r.proto)))
		}
		args = append(args, "-m", r.def.Name)
		b.MustRun(t, append(args, strings.Fields(r.args)...)...)
	}
	pcap := t.TempDir() + "/b.pcap"
	dump := exec.Command("ip", "netns", "exec", b.Name, "tcpdump", "-U", "-n", "-i", "vb", "-w", pcap, "ip", "and", "ether", "src", macA)
	stderr, err := dump.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	// Send only once tcpdump says it listens (a fixed pause was too short
	// on a loaded machine), and a moment more for its filter.
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatal("tcpdump did not start")
	}
	time.Sleep(300 * time.Millisecond)
	b.MustRun(t, "iptables-legacy", "-t", "mangle", "-Z")
	a.Run("ping", "-c", "2", "-i", "0.2", "-W", "1", "10.78.0.2")
	a.Run("ping", "-c", "1", "-W", "1", "-t", "3", "-s", "300", "10.78.0.2")
	a.Run("ping", "-c", "1", "-W", "1", "-s", "3000", "10.78.0.2") // three fragments
	a.Run("ping", "-c", "1", "-W", "1", "-b", "10.78.0.255")
	a.Run("ping", "-c", "1", "-W", "1", "-t", "1", "224.0.0.1")
	a.Run("timeout", "2", "bash", "-c", "echo hi > /dev/udp/10.78.0.2/9999; echo hi > /dev/udp/10.78.0.2/9995; echo hi > /dev/udp/10.78.0.2/53")
	a.Run("timeout", "2", "bash", "-c", "echo > /dev/tcp/10.78.0.2/22; echo > /dev/tcp/10.78.0.2/8080")
	time.Sleep(500 * time.Millisecond)
	dump.Process.Signal(os.Interrupt)
	dump.Wait()

	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, len(rules))
	frames := 0
	for {
		data, _, err := rd.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) < 34 || data[12] != 0x08 || data[13] != 0x00 {
			continue
		}
		p := &Pkt{}
		if p.Decode(data[14:]) != nil {
			continue
		}
		frames++
		p.Hook, p.InIface, p.MAC, p.InEther, p.InHardHeaderLen = HookPreRouting, "vb", data[:14], true, 14
		for i, r := range rules {
			if r.proto != 0 && p.Proto != r.proto {
				continue
			}
			if ms[i].Match(p) {
				want[i]++
			}
			if p.HotDrop {
				break
			}
		}
	}
	if frames < 12 {
		t.Fatalf("only %d frames captured", frames)
	}
	out := b.MustRun(t, "iptables-legacy", "-t", "mangle", "-L", "PREROUTING", "-v", "-n", "-x")
	var got []int
	for _, line := range strings.Split(out, "\n")[2:] {
		if f := strings.Fields(line); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			got = append(got, n)
		}
	}
	if len(got) != len(rules) {
		t.Fatalf("kernel listing has %d rules, want %d:\n%s", len(got), len(rules), out)
	}
	for i, r := range rules {
		if got[i] != want[i] {
			t.Errorf("-m %s %s: kernel counted %d packets, nfgo %d", r.def.Name, r.args, got[i], want[i])
		}
	}
	t.Logf("%d frames; kernel counters:\n%s", frames, out)
}
