// Package packet owns the packet view: IPv4 packets decoded once, without
// copying or allocating, into a small struct the engine's matches read.
// It knows bytes, not hooks or verdicts (those belong to the engine).
package packet

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// IP protocol numbers used here.
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// IPv4 header flag bits in the frag_off field.
const (
	FlagCE     = 0x8000 // reserved ("evil") bit
	FlagDF     = 0x4000
	FlagMF     = 0x2000
	OffsetMask = 0x1FFF
)

// TCP flag bits.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Errors for packets the kernel drops before the first hook (ip_rcv_core).
var (
	ErrTooShort   = errors.New("packet shorter than an IPv4 header")
	ErrVersion    = errors.New("not IPv4")
	ErrHeaderLen  = errors.New("bad IPv4 header length")
	ErrTotalLen   = errors.New("IPv4 total length beyond the packet or below the header")
	ErrIPChecksum = errors.New("bad IPv4 header checksum")
)

// Parsed is one IPv4 packet decoded once. B aliases the caller's buffer,
// trimmed to the IPv4 total length as the kernel trims the skb.
type Parsed struct {
	B []byte

	IHL     int // header length in bytes
	TOS     uint8
	TotLen  uint16
	ID      uint16
	FragOff uint16 // the whole field: flags and offset
	TTL     uint8
	Proto   uint8
	Src     uint32
	Dst     uint32

	// Layer 4, valid only when L4Len > 0 and the packet is not a
	// non-first fragment.
	L4Off int // offset of the transport header in B
	L4Len int // bytes available from L4Off

	SrcPort, DstPort uint16 // TCP/UDP
	TCPFlags         uint8
	TCPDataOff       int // TCP header length in bytes
	ICMPType         uint8
	ICMPCode         uint8
	L4Complete       bool // the fixed transport header is all there

	// Offload state, as the skb carries it (Decode clears it; the
	// reader of a device with offloads sets it). CsumPartial is the
	// kernel's CHECKSUM_PARTIAL: the TCP/UDP checksum field holds only
	// the pseudo-header sum, which whoever segments or finalises the
	// packet completes; it cannot be verified, and NAT updates it the
	// partial way. GSOSize, when non-zero, makes the packet a GSO
	// super-packet: its payload leaves as segments of GSOSize bytes, so
	// the MTU applies to a segment, not to the whole packet.
	CsumPartial bool
	GSOSize     int
}

// Fragment offset in 8-byte units (the kernel's par->fragoff).
func (p *Parsed) FragOffset() uint16 { return p.FragOff & OffsetMask }

// IsFragment reports a fragment of any kind (MF set or offset non-zero).
func (p *Parsed) IsFragment() bool { return p.FragOff&(FlagMF|OffsetMask) != 0 }

// Checksum16 is the Internet checksum of b (ones' complement sum), with
// initial added (a pseudo-header sum, not yet folded).
func Checksum16(b []byte, initial uint32) uint16 {
	// Sum 32-bit big-endian words into 64 bits (no carry is lost for any
	// packet size), then fold: the ones' complement sum is the same as
	// summing 16-bit words.
	sum := uint64(initial)
	var carry, c uint64
	for len(b) >= 32 {
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[0:]), 0)
		carry += c
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[8:]), 0)
		carry += c
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[16:]), 0)
		carry += c
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[24:]), 0)
		carry += c
		b = b[32:]
	}
	// Fold the 64-bit sum (and its carries) to 32 bits before the tail.
	sum = sum&0xFFFFFFFF + sum>>32 + carry
	for len(b) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}

// Decode parses an IPv4 packet as ip_rcv_core validates it; errors mean the
// kernel would drop it before PREROUTING. Transport fields are filled as far
// as the bytes allow. Decode never allocates.
func (p *Parsed) Decode(b []byte) error {
	*p = Parsed{}
	if len(b) < 20 {
		return ErrTooShort
	}
	if b[0]>>4 != 4 {
		return ErrVersion
	}
	ihl := int(b[0]&0x0F) * 4
	if ihl < 20 || len(b) < ihl {
		return ErrHeaderLen
	}
	if Checksum16(b[:ihl], 0) != 0 {
		return ErrIPChecksum
	}
	tot := int(binary.BigEndian.Uint16(b[2:4]))
	if tot > len(b) || tot < ihl {
		return ErrTotalLen
	}
	b = b[:tot]
	p.B = b
	p.IHL = ihl
	p.TOS = b[1]
	p.TotLen = uint16(tot)
	p.ID = binary.BigEndian.Uint16(b[4:6])
	p.FragOff = binary.BigEndian.Uint16(b[6:8])
	p.TTL = b[8]
	p.Proto = b[9]
	p.Src = binary.BigEndian.Uint32(b[12:16])
	p.Dst = binary.BigEndian.Uint32(b[16:20])
	p.decodeL4()
	return nil
}

func (p *Parsed) decodeL4() {
	p.L4Off = p.IHL
	p.L4Len = len(p.B) - p.IHL
	if p.FragOffset() != 0 {
		return
	}
	l4 := p.B[p.IHL:]
	switch p.Proto {
	case ProtoTCP:
		if len(l4) >= 20 {
			p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
			p.DstPort = binary.BigEndian.Uint16(l4[2:4])
			p.TCPDataOff = int(l4[12]>>4) * 4
			p.TCPFlags = l4[13]
			p.L4Complete = true
		}
	case ProtoUDP:
		if len(l4) >= 8 {
			p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
			p.DstPort = binary.BigEndian.Uint16(l4[2:4])
			p.L4Complete = true
		}
	case ProtoICMP:
		if len(l4) >= 2 {
			p.ICMPType = l4[0]
			p.ICMPCode = l4[1]
		}
		p.L4Complete = len(l4) >= 8
	}
}

// Reload re-reads the addresses and the transport fields after the
// packet was rewritten in place (NAT), without validating again.
func (p *Parsed) Reload() {
	p.Src = binary.BigEndian.Uint32(p.B[12:16])
	p.Dst = binary.BigEndian.Uint32(p.B[16:20])
	p.decodeL4()
}

// L4 returns the transport bytes (nil for a non-first fragment).
func (p *Parsed) L4() []byte {
	if p.FragOffset() != 0 || p.L4Off >= len(p.B) {
		return nil
	}
	return p.B[p.L4Off:]
}

// IPOptions returns the IPv4 options bytes.
func (p *Parsed) IPOptions() []byte { return p.B[20:p.IHL] }

// TCPOptions returns the TCP options bytes that are present (possibly
// fewer than the data offset claims, for a truncated packet).
func (p *Parsed) TCPOptions() []byte {
	l4 := p.L4()
	if p.Proto != ProtoTCP || len(l4) < 20 || p.TCPDataOff <= 20 {
		return nil
	}
	end := p.TCPDataOff
	if end > len(l4) {
		end = len(l4)
	}
	return l4[20:end]
}

// TCPSeq, TCPAck and TCPWindow read the TCP header (0 if absent).
func (p *Parsed) TCPSeq() uint32 {
	if l4 := p.L4(); p.Proto == ProtoTCP && len(l4) >= 20 {
		return binary.BigEndian.Uint32(l4[4:8])
	}
	return 0
}

func (p *Parsed) TCPAck() uint32 {
	if l4 := p.L4(); p.Proto == ProtoTCP && len(l4) >= 20 {
		return binary.BigEndian.Uint32(l4[8:12])
	}
	return 0
}

func (p *Parsed) TCPWindow() uint16 {
	if l4 := p.L4(); p.Proto == ProtoTCP && len(l4) >= 20 {
		return binary.BigEndian.Uint16(l4[14:16])
	}
	return 0
}

// Payload returns the bytes after the transport header, when known.
func (p *Parsed) Payload() []byte {
	l4 := p.L4()
	switch {
	case p.Proto == ProtoTCP && len(l4) >= 20 && p.TCPDataOff >= 20 && p.TCPDataOff <= len(l4):
		return l4[p.TCPDataOff:]
	case p.Proto == ProtoUDP && len(l4) >= 8:
		return l4[8:]
	case p.Proto == ProtoICMP && len(l4) >= 8:
		return l4[8:]
	}
	return nil
}
