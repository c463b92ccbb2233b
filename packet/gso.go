package packet

import "encoding/binary"

// Offloaded packets: what a device with checksum and segmentation offload
// hands over (a TUN with IFF_VNET_HDR) and takes back. See CsumPartial
// and GSOSize on Parsed.

// L4HeaderLen is the transport header length a GSO packet repeats in each
// segment (TCP with options, or UDP's 8 bytes); 0 for other protocols.
func (p *Parsed) L4HeaderLen() int {
	switch p.Proto {
	case ProtoTCP:
		return p.TCPDataOff
	case ProtoUDP:
		return 8
	}
	return 0
}

// SegmentLen is the IPv4 length of the largest packet p leaves as: a
// segment for a GSO packet (what skb_gso_validate_network_len checks
// against the MTU), the packet itself otherwise.
func (p *Parsed) SegmentLen() int {
	if p.GSOSize == 0 {
		return len(p.B)
	}
	n := p.IHL + p.L4HeaderLen() + p.GSOSize
	if n > len(p.B) {
		return len(p.B)
	}
	return n
}

// FinishChecksum completes a partial checksum: the field at b[start+off]
// holds the pseudo-header sum; the sum of b[start:] is folded into it
// (0 is sent as 0xFFFF, as skb_checksum_help does). false: out of bounds.
func FinishChecksum(b []byte, start, off int) bool {
	if start < 0 || off < 0 || start+off+2 > len(b) {
		return false
	}
	c := Checksum16(b[start:], 0)
	if c == 0 {
		c = 0xFFFF
	}
	binary.BigEndian.PutUint16(b[start+off:], c)
	return true
}

// FinishPartial completes p's partial TCP or UDP checksum in place, as
// skb_checksum_help does before the kernel fragments a packet or hands
// it to a device that cannot: afterwards the checksum is complete.
func (p *Parsed) FinishPartial() {
	if !p.CsumPartial {
		return
	}
	off := 16
	if p.Proto == ProtoUDP {
		off = 6
	}
	FinishChecksum(p.B, p.IHL, off)
	p.CsumPartial = false
}

// Segment cuts the GSO super-packet p (TCP or UDP, checksum partial) into
// the packets a device would send: each with the headers repeated,
// GSOSize bytes of payload (the last one the rest), its own total
// length, IP id (incremented per segment), header checksum and complete
// transport checksum; TCP segments carry their own sequence numbers,
// FIN and PSH on the last only, CWR on the first only. It allocates (a
// slow path: the segments do not fit the output MTU). nil: p is not a
// GSO packet it can cut.
func Segment(p *Parsed) [][]byte {
	hl := p.IHL + p.L4HeaderLen()
	if p.GSOSize <= 0 || p.L4HeaderLen() == 0 || len(p.B) <= hl || p.IsFragment() {
		return nil
	}
	payload := p.B[hl:]
	var out [][]byte
	id := p.ID
	seq := p.TCPSeq()
	for off := 0; off < len(payload); off += p.GSOSize {
		end := min(off+p.GSOSize, len(payload))
		s := make([]byte, hl+end-off)
		copy(s, p.B[:hl])
		copy(s[hl:], payload[off:end])
		binary.BigEndian.PutUint16(s[2:], uint16(len(s)))
		binary.BigEndian.PutUint16(s[4:], id)
		id++
		s[10], s[11] = 0, 0
		binary.BigEndian.PutUint16(s[10:], Checksum16(s[:p.IHL], 0))
		l4 := s[p.IHL:]
		n := uint32(len(l4))
		pseudo := p.Src>>16 + p.Src&0xFFFF + p.Dst>>16 + p.Dst&0xFFFF + uint32(p.Proto) + n
		if p.Proto == ProtoTCP {
			binary.BigEndian.PutUint32(l4[4:], seq+uint32(off))
			if end < len(payload) {
				l4[13] &^= TCPFin | TCPPsh
			}
			if off > 0 {
				l4[13] &^= TCPCwr
			}
			l4[16], l4[17] = 0, 0
			binary.BigEndian.PutUint16(l4[16:], Checksum16(l4, pseudo))
		} else {
			binary.BigEndian.PutUint16(l4[4:], uint16(n))
			l4[6], l4[7] = 0, 0
			c := Checksum16(l4, pseudo)
			if c == 0 {
				c = 0xFFFF
			}
			binary.BigEndian.PutUint16(l4[6:], c)
		}
		out = append(out, s)
	}
	return out
}
