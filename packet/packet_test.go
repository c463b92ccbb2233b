package packet

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tcpPacket(t testing.TB) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, TOS: 0x10, Id: 4660, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IP{203, 0, 113, 5}, DstIP: net.IP{10, 0, 0, 1},
		Options: []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 22, Seq: 1000, Ack: 0, SYN: true, Window: 64240,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}}}
	tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, ip, tcp, gopacket.Payload("hello"))
}

// The decoded fields agree with gopacket's decoding of the same bytes.
func TestDecodeAgainstGopacket(t *testing.T) {
	udpIP := &layers.IPv4{Version: 4, TTL: 3, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	udp.SetNetworkLayerForChecksum(udpIP)
	icmpIP := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.IP{10, 1, 1, 1}, DstIP: net.IP{10, 1, 1, 2}}
	pkts := [][]byte{
		tcpPacket(t),
		serialize(t, udpIP, udp, gopacket.Payload("q")),
		serialize(t, icmpIP, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 1}, gopacket.Payload(make([]byte, 50))),
	}
	for i, b := range pkts {
		var p Parsed
		if err := p.Decode(b); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		g := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
		ip := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if p.Src != binary.BigEndian.Uint32(ip.SrcIP.To4()) || p.Dst != binary.BigEndian.Uint32(ip.DstIP.To4()) ||
			p.TTL != ip.TTL || p.TOS != ip.TOS || p.ID != ip.Id || p.Proto != uint8(ip.Protocol) ||
			p.IHL != int(ip.IHL)*4 || p.TotLen != ip.Length {
			t.Errorf("packet %d: IPv4 fields differ: %+v vs %+v", i, p, ip)
		}
		switch l := g.TransportLayer().(type) {
		case *layers.TCP:
			flags := uint8(0)
			for bit, on := range map[uint8]bool{TCPFin: l.FIN, TCPSyn: l.SYN, TCPRst: l.RST, TCPPsh: l.PSH, TCPAck: l.ACK, TCPUrg: l.URG, TCPEce: l.ECE, TCPCwr: l.CWR} {
				if on {
					flags |= bit
				}
			}
			if p.SrcPort != uint16(l.SrcPort) || p.DstPort != uint16(l.DstPort) || p.TCPFlags != flags ||
				p.TCPSeq() != l.Seq || p.TCPWindow() != l.Window || p.TCPDataOff != int(l.DataOffset)*4 ||
				string(p.Payload()) != string(l.Payload) || len(p.TCPOptions()) != p.TCPDataOff-20 {
				t.Errorf("packet %d: TCP fields differ", i)
			}
		case *layers.UDP:
			if p.SrcPort != uint16(l.SrcPort) || p.DstPort != uint16(l.DstPort) || string(p.Payload()) != string(l.Payload) {
				t.Errorf("packet %d: UDP fields differ", i)
			}
		}
		if ic, ok := g.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			if p.ICMPType != ic.TypeCode.Type() || p.ICMPCode != ic.TypeCode.Code() {
				t.Errorf("packet %d: ICMP fields differ", i)
			}
		}
	}
}

// Packets ip_rcv_core drops are refused before any hook.
func TestDecodeRefusesWhatTheKernelDrops(t *testing.T) {
	good := tcpPacket(t)
	var p Parsed
	bad := map[string][]byte{
		"short":    good[:19],
		"version6": append([]byte{0x60}, good[1:]...),
		"ihl4":     append([]byte{0x44}, good[1:]...),
	}
	csum := append([]byte(nil), good...)
	csum[10] ^= 0xFF
	bad["checksum"] = csum
	long := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(long[2:], uint16(len(good)+1))
	long[10], long[11] = 0, 0
	binary.BigEndian.PutUint16(long[10:], Checksum16(long[:p.headerLen(long)], 0))
	bad["totlen"] = long
	for name, b := range bad {
		if err := p.Decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Trailing bytes beyond tot_len are trimmed, as the kernel trims them.
	padded := append(append([]byte(nil), good...), 0, 0, 0)
	if err := p.Decode(padded); err != nil || len(p.B) != len(good) {
		t.Errorf("padded: %v, len %d", err, len(p.B))
	}
}

func (p *Parsed) headerLen(b []byte) int { return int(b[0]&0x0F) * 4 }

// A non-first fragment has no transport fields.
func TestFragment(t *testing.T) {
	b := tcpPacket(t)
	b[6], b[7] = 0x00, 0x10 // offset 16 (128 bytes)
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], Checksum16(b[:int(b[0]&0xF)*4], 0))
	var p Parsed
	if err := p.Decode(b); err != nil {
		t.Fatal(err)
	}
	if p.FragOffset() != 16 || p.SrcPort != 0 || p.L4() != nil || !p.IsFragment() {
		t.Errorf("fragment decoded as %+v", p)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	b := tcpPacket(t)
	var p Parsed
	if n := testing.AllocsPerRun(1000, func() { p.Decode(b) }); n != 0 {
		t.Fatalf("Decode allocates %.1f times per packet", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	pkt := tcpPacket(b)
	var p Parsed
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Decode(pkt)
	}
}

// FuzzDecode: no input may panic, and every accessor stays in bounds.
func FuzzDecode(f *testing.F) {
	f.Add(tcpPacket(f))
	f.Add([]byte{0x45, 0, 0, 20, 0, 0, 0x20, 0x01, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Parsed
		if len(b) >= 12 && b[0]>>4 == 4 {
			// Fix the checksum half of the time so decoding goes deeper.
			if len(b)%2 == 0 {
				ihl := int(b[0]&0xF) * 4
				if ihl >= 20 && ihl <= len(b) {
					b[10], b[11] = 0, 0
					binary.BigEndian.PutUint16(b[10:], Checksum16(b[:ihl], 0))
				}
			}
		}
		if err := p.Decode(b); err != nil {
			return
		}
		_ = p.L4()
		_ = p.IPOptions()
		_ = p.TCPOptions()
		_ = p.Payload()
		_ = p.TCPSeq() + p.TCPAck() + uint32(p.TCPWindow())
		if int(p.TotLen) != len(p.B) {
			t.Fatalf("B not trimmed to tot_len")
		}
	})
}

// Built packets carry correct checksums, as gopacket recomputes them.
func TestBuildChecksums(t *testing.T) {
	for _, s := range []*Spec{
		{Src: 0xcb007105, Dst: 0x0a000001, Proto: ProtoTCP, SrcPort: 40000, DstPort: 22, TCPFlags: TCPSyn, TCPOptions: []byte{2, 4, 5, 0xb4}, DF: true},
		{Src: 1, Dst: 2, Proto: ProtoUDP, SrcPort: 53, DstPort: 5353, PayloadLen: 11},
		{Src: 1, Dst: 2, Proto: ProtoICMP, ICMPType: 8, ICMPID: 9, ICMPSeq: 1, TotalLen: 78},
	} {
		b := Build(s)
		var p Parsed
		if err := p.Decode(b); err != nil {
			t.Fatal(err)
		}
		g := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
		ip := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		want := append([]byte(nil), b...)
		buf := gopacket.NewSerializeBuffer()
		ls := []gopacket.SerializableLayer{ip}
		switch l := g.TransportLayer().(type) {
		case *layers.TCP:
			l.SetNetworkLayerForChecksum(ip)
			ls = append(ls, l, gopacket.Payload(l.Payload))
		case *layers.UDP:
			l.SetNetworkLayerForChecksum(ip)
			ls = append(ls, l, gopacket.Payload(l.Payload))
		default:
			ic := g.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			ls = append(ls, ic, gopacket.Payload(ic.Payload))
		}
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		if string(buf.Bytes()) != string(want) {
			t.Errorf("proto %d: checksums differ from gopacket's\n%x\n%x", s.Proto, want, buf.Bytes())
		}
		if s.TotalLen > 0 && len(b) != s.TotalLen {
			t.Errorf("length %d, want %d", len(b), s.TotalLen)
		}
	}
}

// checksumRef is the plain 16-bit loop the fast Checksum16 must equal.
func checksumRef(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}

func FuzzChecksum16(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 20}, uint32(0))
	f.Add(make([]byte, 1500), uint32(0x1ffff))
	f.Fuzz(func(t *testing.T, b []byte, init uint32) {
		init &= 0xFFFFF // pseudo-header sums stay small
		if got, want := Checksum16(b, init), checksumRef(b, init); got != want {
			t.Fatalf("len %d: %04x, want %04x", len(b), got, want)
		}
	})
}

func BenchmarkChecksum1448(b *testing.B) {
	buf := make([]byte, 1448)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(1448)
	for i := 0; i < b.N; i++ {
		Checksum16(buf, 0)
	}
}
