// Package seedcapture makes the bundled example capture,
// examples/host-firewall.pcap: traffic on eth0 of the host that
// examples/host.json describes, exercising examples/host-firewall.rules
// (the seed articles' recipes) — what arrives, and what a kernel running
// those rules sent back out (REJECT's resets, a port-forwarded SYN). It
// is deterministic; `go run ./examples/mkcapture` writes the file again.
package seedcapture

import (
	"bytes"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/packet"
)

func ip(a, b, c, d byte) uint32 { return uint32(a)<<24 | uint32(b)<<16 | uint32(c)<<8 | uint32(d) }

// Capture returns the example capture's bytes.
func Capture() []byte {
	var (
		host     = ip(10, 176, 7, 5)
		attacker = ip(203, 0, 113, 7)
		knocker  = ip(198, 51, 100, 9)
		peer     = ip(10, 176, 7, 20)
		web      = ip(192, 0, 2, 44)
		backend  = ip(10, 176, 7, 6)
		hostMAC  = []byte{2, 0, 0, 0, 0, 1}
		gwMAC    = []byte{2, 0, 0, 0, 0, 0xfe}
		peerMAC  = []byte{2, 0, 0, 0, 0, 0x20}
		backMAC  = []byte{2, 0, 0, 0, 0, 0x06}
	)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	type pkt struct {
		at  time.Duration
		src []byte
		s   packet.Spec
	}
	syn := func(src uint32, sport, dport uint16) packet.Spec {
		return packet.Spec{Src: src, Dst: host, Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport, TCPFlags: packet.TCPSyn,
			Seq: 1000 + uint32(sport), DF: true, TTL: 52, TCPOptions: []byte{2, 4, 5, 0xb4}}
	}
	var ps []pkt
	// Seed 003: SSH brute force, five new connections in 20 s; the 4th
	// and 5th find 3 connections from the source already (connlimit) and
	// get a reset from the REJECT rule, which the host sends out.
	for i := 0; i < 5; i++ {
		at := time.Duration(i) * 5 * time.Second
		ps = append(ps, pkt{at, gwMAC, syn(attacker, uint16(50000+i), 22)})
		if i >= 3 {
			ps = append(ps, pkt{at + time.Millisecond, nil, packet.Spec{Src: host, Dst: attacker, Proto: packet.ProtoTCP,
				SrcPort: 22, DstPort: uint16(50000 + i), TCPFlags: packet.TCPRst | packet.TCPAck, Ack: 1000 + uint32(50000+i) + 1, DF: true, TTL: 64}})
		}
	}
	// Seed 003: port knocking, an echo request of length 78, then SSH
	// within 15 s.
	ps = append(ps, pkt{30 * time.Second, gwMAC, packet.Spec{Src: knocker, Dst: host, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 7, ICMPSeq: 1, TotalLen: 78, TTL: 57}})
	ps = append(ps, pkt{35 * time.Second, gwMAC, syn(knocker, 41000, 22)})
	// Seed 000: a reset from a peer, logged with its 4-tuple.
	ps = append(ps, pkt{40 * time.Second, peerMAC, packet.Spec{Src: peer, Dst: host, Proto: packet.ProtoTCP, SrcPort: 3306, DstPort: 51234,
		TCPFlags: packet.TCPRst | packet.TCPAck, Seq: 777, Ack: 888, DF: true, TTL: 64}})
	// Seed 001/004: a port forwarded to a backend (DNAT and SNAT).
	ps = append(ps, pkt{45 * time.Second, peerMAC, packet.Spec{Src: peer, Dst: host, Proto: packet.ProtoTCP, SrcPort: 42000, DstPort: 8507,
		TCPFlags: packet.TCPSyn, Seq: 5, DF: true, TTL: 64}})
	// ... leaving for the backend rewritten.
	ps = append(ps, pkt{45*time.Second + time.Millisecond, nil, packet.Spec{Src: host, Dst: backend, Proto: packet.ProtoTCP, SrcPort: 42000, DstPort: 3307,
		TCPFlags: packet.TCPSyn, Seq: 5, DF: true, TTL: 63}})
	// A web request, and a lone FIN that belongs to no connection
	// (INVALID, logged at most once a second).
	ps = append(ps, pkt{50 * time.Second, gwMAC, syn(web, 43000, 80)})
	ps = append(ps, pkt{55 * time.Second, gwMAC, packet.Spec{Src: web, Dst: host, Proto: packet.ProtoTCP, SrcPort: 43001, DstPort: 80,
		TCPFlags: packet.TCPFin | packet.TCPAck, Seq: 9, Ack: 9, DF: true, TTL: 52}})
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, p := range ps {
		s := p.s
		// Frames the host received carry its MAC as destination; frames
		// it sent (src nil) its MAC as source.
		dst, src := hostMAC, p.src
		if src == nil {
			dst, src = gwMAC, hostMAC
			if s.Dst == backend {
				dst = backMAC
			}
		}
		frame := append(append(append([]byte{}, dst...), src...), 0x08, 0x00)
		frame = append(frame, packet.Build(&s)...)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(p.at), CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	return b.Bytes()
}
