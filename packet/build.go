package packet

import "encoding/binary"

// Spec describes a packet to build (for nfgo trace and tests).
type Spec struct {
	Src, Dst         uint32
	Proto            uint8
	TTL              uint8
	TOS              uint8
	ID               uint16
	DF               bool
	FragOffset       uint16 // in 8-byte units
	MF               bool
	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	TCPOptions       []byte // padded to 4 bytes
	ICMPType         uint8
	ICMPCode         uint8
	ICMPID, ICMPSeq  uint16
	PayloadLen       int    // zero bytes of payload
	TotalLen         int    // if > 0, pad the payload to reach this total length
	IPOptions        []byte // padded to 4 bytes
}

// Build returns the IPv4 packet described by s, checksums computed.
func Build(s *Spec) []byte {
	ipopt := pad4(s.IPOptions)
	ihl := 20 + len(ipopt)
	var l4 []byte
	if s.FragOffset == 0 {
		switch s.Proto {
		case ProtoTCP:
			opt := pad4(s.TCPOptions)
			l4 = make([]byte, 20+len(opt))
			binary.BigEndian.PutUint16(l4[0:], s.SrcPort)
			binary.BigEndian.PutUint16(l4[2:], s.DstPort)
			binary.BigEndian.PutUint32(l4[4:], s.Seq)
			binary.BigEndian.PutUint32(l4[8:], s.Ack)
			l4[12] = byte((20+len(opt))/4) << 4
			l4[13] = s.TCPFlags
			win := s.Window
			if win == 0 && s.TCPFlags&TCPRst == 0 {
				win = 64240
			}
			binary.BigEndian.PutUint16(l4[14:], win)
			copy(l4[20:], opt)
		case ProtoUDP:
			l4 = make([]byte, 8)
			binary.BigEndian.PutUint16(l4[0:], s.SrcPort)
			binary.BigEndian.PutUint16(l4[2:], s.DstPort)
		case ProtoICMP:
			l4 = make([]byte, 8)
			l4[0], l4[1] = s.ICMPType, s.ICMPCode
			binary.BigEndian.PutUint16(l4[4:], s.ICMPID)
			binary.BigEndian.PutUint16(l4[6:], s.ICMPSeq)
		}
	}
	payload := s.PayloadLen
	if s.TotalLen > 0 && s.TotalLen > ihl+len(l4) {
		payload = s.TotalLen - ihl - len(l4)
	}
	b := make([]byte, ihl+len(l4)+payload)
	b[0] = 0x40 | byte(ihl/4)
	b[1] = s.TOS
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], s.ID)
	frag := s.FragOffset & OffsetMask
	if s.DF {
		frag |= FlagDF
	}
	if s.MF {
		frag |= FlagMF
	}
	binary.BigEndian.PutUint16(b[6:], frag)
	ttl := s.TTL
	if ttl == 0 {
		ttl = 64
	}
	b[8] = ttl
	b[9] = s.Proto
	binary.BigEndian.PutUint32(b[12:], s.Src)
	binary.BigEndian.PutUint32(b[16:], s.Dst)
	copy(b[20:], ipopt)
	binary.BigEndian.PutUint16(b[10:], Checksum16(b[:ihl], 0))
	copy(b[ihl:], l4)
	seg := b[ihl:]
	switch {
	case s.FragOffset != 0:
	case s.Proto == ProtoTCP || s.Proto == ProtoUDP:
		off := 16
		if s.Proto == ProtoUDP {
			off = 6
			binary.BigEndian.PutUint16(seg[4:], uint16(len(seg)))
		}
		c := Checksum16(seg, pseudoSum(s.Src, s.Dst, s.Proto, len(seg)))
		if s.Proto == ProtoUDP && c == 0 {
			c = 0xFFFF
		}
		binary.BigEndian.PutUint16(seg[off:], c)
	case s.Proto == ProtoICMP:
		binary.BigEndian.PutUint16(seg[2:], Checksum16(seg, 0))
	}
	return b
}

func pad4(b []byte) []byte {
	if len(b)%4 == 0 {
		return b
	}
	return append(append([]byte(nil), b...), make([]byte, 4-len(b)%4)...)
}

// pseudoSum is the TCP/UDP pseudo-header sum, not yet folded.
func pseudoSum(src, dst uint32, proto uint8, n int) uint32 {
	return src>>16 + src&0xFFFF + dst>>16 + dst&0xFFFF + uint32(proto) + uint32(n)
}
