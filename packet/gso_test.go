package packet

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// A TCP super-packet cut by Segment gives what the sender's segments
// would have been: valid header and TCP checksums, consecutive sequence
// numbers and IP ids, the payload in order, FIN and PSH only on the last
// segment, CWR only on the first; a UDP one gives datagrams with their
// own lengths and checksums.
func TestSegment(t *testing.T) {
	for _, proto := range []uint8{ProtoTCP, ProtoUDP} {
		s := &Spec{Src: 0x0a000001, Dst: 0x0a000102, Proto: proto, SrcPort: 40000, DstPort: 5201, ID: 7, DF: true,
			TCPFlags: TCPAck | TCPPsh | TCPFin | TCPCwr, Seq: 0xFFFFF000, TCPOptions: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, PayloadLen: 5000}
		b := Build(s)
		var p Parsed
		if err := p.Decode(b); err != nil {
			t.Fatal(err)
		}
		hl := p.IHL + p.L4HeaderLen()
		for i := range b[hl:] {
			b[hl+i] = byte(i * 7)
		}
		p.CsumPartial, p.GSOSize = true, 1448
		segs := Segment(&p)
		if len(segs) != 4 {
			t.Fatalf("%d: %d segments, want 4", proto, len(segs))
		}
		var payload []byte
		for i, sg := range segs {
			var q Parsed
			if err := q.Decode(sg); err != nil {
				t.Fatalf("segment %d: %v", i, err)
			}
			if q.ID != 7+uint16(i) || (i < 3 && len(sg) != hl+1448) {
				t.Fatalf("segment %d: id %d, length %d", i, q.ID, len(sg))
			}
			l4 := sg[q.IHL:]
			n := uint32(len(l4))
			if Checksum16(l4, q.Src>>16+q.Src&0xFFFF+q.Dst>>16+q.Dst&0xFFFF+uint32(proto)+n) != 0 {
				t.Fatalf("segment %d: transport checksum invalid", i)
			}
			if proto == ProtoTCP {
				if q.TCPSeq() != 0xFFFFF000+uint32(i*1448) {
					t.Fatalf("segment %d: seq %x", i, q.TCPSeq())
				}
				last := i == len(segs)-1
				if (q.TCPFlags&(TCPFin|TCPPsh) != 0) != last || (q.TCPFlags&TCPCwr != 0) != (i == 0) {
					t.Fatalf("segment %d: flags %02x", i, q.TCPFlags)
				}
			} else if int(binary.BigEndian.Uint16(l4[4:])) != len(l4) {
				t.Fatalf("segment %d: UDP length %d of %d", i, binary.BigEndian.Uint16(l4[4:]), len(l4))
			}
			payload = append(payload, sg[hl:]...)
		}
		if !bytes.Equal(payload, b[hl:]) {
			t.Fatalf("%d: payload not reassembled in order", proto)
		}
	}
}
