package packet

import "encoding/binary"

// The kernel's incremental checksum primitives (include/net/checksum.h),
// shared by every rewrite of a header in place (NAT, TCPMSS): computed as
// the kernel computes them, so that even the choice between 0x0000 and
// 0xFFFF is the kernel's.

// CsumAdd is csum_add: 32-bit ones' complement addition.
func CsumAdd(a, b uint32) uint32 {
	s := a + b
	if s < a {
		s++
	}
	return s
}

// CsumFold is csum_fold: 32 bits folded to 16, complemented.
func CsumFold(s uint32) uint16 {
	s = s&0xFFFF + s>>16
	s = s&0xFFFF + s>>16
	return ^uint16(s)
}

// CsumReplace4 is csum_replace4 (and inet_proto_csum_replace4 on a
// complete checksum): the checksum at c for a 32-bit field changing from
// from to to.
func CsumReplace4(c []byte, from, to uint32) {
	s := ^uint32(binary.BigEndian.Uint16(c))
	s = CsumAdd(s, ^from)
	s = CsumAdd(s, to)
	binary.BigEndian.PutUint16(c, CsumFold(s))
}

// CsumReplace2 is csum_replace2 (inet_proto_csum_replace2 on a complete
// checksum).
func CsumReplace2(c []byte, from, to uint16) { CsumReplace4(c, uint32(from), uint32(to)) }

// CsumReplacePartial4 is inet_proto_csum_replace4 with pseudohdr set on a
// CHECKSUM_PARTIAL field, which holds the pseudo-header sum itself (not
// its complement): the change is added to it directly. A change outside
// the pseudo header leaves such a field alone.
func CsumReplacePartial4(c []byte, from, to uint32) {
	s := uint32(binary.BigEndian.Uint16(c))
	s = CsumAdd(s, ^from)
	s = CsumAdd(s, to)
	binary.BigEndian.PutUint16(c, ^CsumFold(s))
}
