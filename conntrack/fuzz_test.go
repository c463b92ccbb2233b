package conntrack

import (
	"encoding/binary"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// FuzzIn feeds arbitrary IPv4 packets (header checksum fixed up so they
// get past decoding) through conntrack in both directions and through
// Confirm, on a small table: nothing may panic, and the table stays
// within its limit.
func FuzzIn(f *testing.F) {
	f.Add(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoTCP, SrcPort: 1, DstPort: 2, TCPFlags: packet.TCPSyn}), uint8(0))
	f.Add(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoICMP, ICMPType: 3, PayloadLen: 28}), uint8(1))
	f.Add(packet.Build(&packet.Spec{Src: 1, Dst: 2, Proto: packet.ProtoUDP, SrcPort: 53, DstPort: 53}), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, seed uint8) {
		if len(b) < 20 || len(b) > 2000 {
			return
		}
		b[0] = 0x40 | b[0]&0x0F
		ihl := int(b[0]&0x0F) * 4
		if ihl < 20 || ihl > len(b) {
			return
		}
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:ihl], 0))
		cfg := DefaultConfig()
		cfg.Max = 4
		tb := NewTable(cfg)
		now := int64(seed) * 1e9
		for i := 0; i < 6; i++ {
			var p packet.Parsed
			if p.Decode(b) != nil {
				return
			}
			ci, ct := tb.In(&p, now, 0)
			if ct != nil {
				tb.Confirm(ct, ci, now)
			}
			// The same packet again, and its mirror image.
			b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19] = b[16], b[17], b[18], b[19], b[12], b[13], b[14], b[15]
			if p.Proto == packet.ProtoTCP || p.Proto == packet.ProtoUDP {
				if len(b) >= ihl+4 {
					b[ihl], b[ihl+1], b[ihl+2], b[ihl+3] = b[ihl+2], b[ihl+3], b[ihl], b[ihl+1]
				}
			}
			b[10], b[11] = 0, 0
			binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:ihl], 0))
			now += 1e8
		}
		if n := tb.Count(); n > cfg.Max {
			t.Fatalf("table holds %d entries, limit %d", n, cfg.Max)
		}
	})
}
