// Package logline formats packet log lines byte for byte as the kernel's
// nf_log_syslog does for the LOG target and for TRACE: "PREFIXIN=eth0
// OUT= MAC=... SRC=... DST=... LEN=... ". Formatting appends to a caller's
// buffer and does not allocate.
package logline

import (
	"encoding/binary"
	"strconv"
)

// Log flags (struct xt_log_info logflags).
const (
	TCPSeq    = 0x01
	TCPOpt    = 0x02
	IPOpt     = 0x04
	UID       = 0x08
	MACDecode = 0x20
)

// Packet is what a log line is made of.
type Packet struct {
	Prefix  string
	In, Out string // "" when the hook has no such device
	// MAC is the link-layer header as received (printed only when In is
	// set); MACEther says the device is Ethernet (for --log-macdecode).
	// HardHeaderLen is the device's header length (14 for Ethernet, 0
	// for a TUN device: then "MAC= " is printed empty).
	MAC           []byte
	HardHeaderLen int
	MACEther      bool
	IP            []byte // the IPv4 packet from its first header byte
	Mark          uint32
	Flags         uint8
	// UID/GID of the local socket, printed with the UID flag when HasUID.
	HasUID   bool
	UID, GID uint32
}

const hexUpper = "0123456789ABCDEF"
const hexLower = "0123456789abcdef"

func appendHex2(b []byte, v byte, digits string) []byte {
	return append(b, digits[v>>4], digits[v&0xF])
}

func appendU(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

func appendIPv4(b []byte, ip []byte) []byte {
	b = appendU(b, uint64(ip[0]))
	b = append(b, '.')
	b = appendU(b, uint64(ip[1]))
	b = append(b, '.')
	b = appendU(b, uint64(ip[2]))
	b = append(b, '.')
	return appendU(b, uint64(ip[3]))
}

// appendIncomplete is the kernel's "INCOMPLETE [N bytes] " for a header
// that is not all there.
func appendIncomplete(b []byte, n int) []byte {
	b = append(b, "INCOMPLETE ["...)
	b = appendU(b, uint64(n))
	return append(b, " bytes] "...)
}

func appendMAC(b []byte, m []byte) []byte {
	for i := 0; i < 6; i++ {
		if i > 0 {
			b = append(b, ':')
		}
		b = appendHex2(b, m[i], hexLower)
	}
	return b
}

// Append formats one line (without the trailing newline) onto b.
func Append(b []byte, p *Packet) []byte {
	b = append(b, p.Prefix...)
	b = append(b, "IN="...)
	b = append(b, p.In...)
	b = append(b, " OUT="...)
	b = append(b, p.Out...)
	b = append(b, ' ')
	if p.In != "" {
		b = appendMACHeader(b, p)
	}
	return appendIPv4Packet(b, p, p.IP, false)
}

func appendMACHeader(b []byte, p *Packet) []byte {
	if p.Flags&MACDecode != 0 && p.MACEther {
		if len(p.MAC) < 14 {
			return b
		}
		b = append(b, "MACSRC="...)
		b = appendMAC(b, p.MAC[6:12])
		b = append(b, " MACDST="...)
		b = appendMAC(b, p.MAC[0:6])
		b = append(b, " MACPROTO="...)
		b = appendHex2(b, p.MAC[12], hexLower)
		b = appendHex2(b, p.MAC[13], hexLower)
		return append(b, ' ')
	}
	b = append(b, "MAC="...)
	if p.HardHeaderLen > 0 && len(p.MAC) > 0 {
		n := p.HardHeaderLen
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ':')
			}
			var v byte
			if i < len(p.MAC) {
				v = p.MAC[i]
			}
			b = appendHex2(b, v, hexLower)
		}
	}
	return append(b, ' ')
}

var icmpRequiredLen = [19]int{0: 4, 3: 28, 4: 28, 5: 28, 8: 4, 11: 28, 12: 28, 13: 20, 14: 20, 17: 12, 18: 12}

// appendIPv4Packet is dump_ipv4_packet; inner is the one level of
// recursion for the packet quoted in an ICMP error. ip runs to the end of
// the skb (for an inner packet: to the end of the outer one).
func appendIPv4Packet(b []byte, p *Packet, ip []byte, inner bool) []byte {
	if len(ip) < 20 {
		return append(b, "TRUNCATED"...)
	}
	b = append(b, "SRC="...)
	b = appendIPv4(b, ip[12:16])
	b = append(b, " DST="...)
	b = appendIPv4(b, ip[16:20])
	b = append(b, " LEN="...)
	b = appendU(b, uint64(binary.BigEndian.Uint16(ip[2:4])))
	b = append(b, " TOS=0x"...)
	b = appendHex2(b, ip[1]&0x1E, hexUpper)
	b = append(b, " PREC=0x"...)
	b = appendHex2(b, ip[1]&0xE0, hexUpper)
	b = append(b, " TTL="...)
	b = appendU(b, uint64(ip[8]))
	b = append(b, " ID="...)
	b = appendU(b, uint64(binary.BigEndian.Uint16(ip[4:6])))
	b = append(b, ' ')
	frag := binary.BigEndian.Uint16(ip[6:8])
	if frag&0x8000 != 0 {
		b = append(b, "CE "...)
	}
	if frag&0x4000 != 0 {
		b = append(b, "DF "...)
	}
	if frag&0x2000 != 0 {
		b = append(b, "MF "...)
	}
	off := frag & 0x1FFF
	if off != 0 {
		b = append(b, "FRAG:"...)
		b = appendU(b, uint64(off))
		b = append(b, ' ')
	}
	ihl := int(ip[0]&0x0F) * 4
	if p.Flags&IPOpt != 0 && ihl > 20 {
		if len(ip) < ihl {
			return append(b, "TRUNCATED"...)
		}
		b = append(b, "OPT ("...)
		for _, o := range ip[20:ihl] {
			b = appendHex2(b, o, hexUpper)
		}
		b = append(b, ") "...)
	}
	var l4 []byte
	if ihl <= len(ip) {
		l4 = ip[ihl:]
	}
	switch ip[9] {
	case 6:
		b = append(b, "PROTO=TCP "...)
		if off != 0 {
			break
		}
		var stop bool
		if b, stop = appendTCP(b, p, l4); stop {
			return b
		}
	case 17, 136:
		if ip[9] == 17 {
			b = append(b, "PROTO=UDP "...)
		} else {
			b = append(b, "PROTO=UDPLITE "...)
		}
		if off != 0 {
			break
		}
		if len(l4) < 8 {
			return appendIncomplete(b, len(l4))
		}
		b = append(b, "SPT="...)
		b = appendU(b, uint64(binary.BigEndian.Uint16(l4[0:2])))
		b = append(b, " DPT="...)
		b = appendU(b, uint64(binary.BigEndian.Uint16(l4[2:4])))
		b = append(b, " LEN="...)
		b = appendU(b, uint64(binary.BigEndian.Uint16(l4[4:6])))
		b = append(b, ' ')
	case 1:
		b = append(b, "PROTO=ICMP "...)
		if off != 0 {
			break
		}
		if len(l4) < 8 {
			b = appendIncomplete(b, len(l4))
			break
		}
		typ, code := l4[0], l4[1]
		b = append(b, "TYPE="...)
		b = appendU(b, uint64(typ))
		b = append(b, " CODE="...)
		b = appendU(b, uint64(code))
		b = append(b, ' ')
		if int(typ) < len(icmpRequiredLen) && icmpRequiredLen[typ] != 0 && len(l4) < icmpRequiredLen[typ] {
			b = appendIncomplete(b, len(l4))
			break
		}
		switch typ {
		case 0, 8:
			b = append(b, "ID="...)
			b = appendU(b, uint64(binary.BigEndian.Uint16(l4[4:6])))
			b = append(b, " SEQ="...)
			b = appendU(b, uint64(binary.BigEndian.Uint16(l4[6:8])))
			b = append(b, ' ')
		case 12:
			b = append(b, "PARAMETER="...)
			b = appendU(b, uint64(l4[4]))
			b = append(b, ' ')
		case 5, 3, 4, 11:
			if typ == 5 {
				b = append(b, "GATEWAY="...)
				b = appendIPv4(b, l4[4:8])
				b = append(b, ' ')
			}
			if !inner {
				b = append(b, '[')
				b = appendIPv4Packet(b, p, l4[8:], true)
				b = append(b, "] "...)
			}
			if typ == 3 && code == 4 {
				b = append(b, "MTU="...)
				b = appendU(b, uint64(binary.BigEndian.Uint16(l4[6:8])))
				b = append(b, ' ')
			}
		}
	case 51:
		if off != 0 {
			break
		}
		b = append(b, "PROTO=AH "...)
		if len(l4) < 12 {
			b = appendIncomplete(b, len(l4))
			break
		}
		b = append(b, "SPI=0x"...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(l4[4:8])), 16)
		b = append(b, ' ')
	case 50:
		b = append(b, "PROTO=ESP "...)
		if off != 0 {
			break
		}
		if len(l4) < 8 {
			b = appendIncomplete(b, len(l4))
			break
		}
		b = append(b, "SPI=0x"...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(l4[0:4])), 16)
		b = append(b, ' ')
	default:
		b = append(b, "PROTO="...)
		b = appendU(b, uint64(ip[9]))
		b = append(b, ' ')
	}
	if !inner {
		if p.Flags&UID != 0 && p.HasUID {
			b = append(b, "UID="...)
			b = appendU(b, uint64(p.UID))
			b = append(b, " GID="...)
			b = appendU(b, uint64(p.GID))
			b = append(b, ' ')
		}
		if p.Mark != 0 {
			b = append(b, "MARK=0x"...)
			b = strconv.AppendUint(b, uint64(p.Mark), 16)
			b = append(b, ' ')
		}
	}
	return b
}

// appendTCP is nf_log_dump_tcp_header; stop reports that the caller must
// end the line here (INCOMPLETE or truncated options).
func appendTCP(b []byte, p *Packet, l4 []byte) ([]byte, bool) {
	if len(l4) < 20 {
		return appendIncomplete(b, len(l4)), true
	}
	b = append(b, "SPT="...)
	b = appendU(b, uint64(binary.BigEndian.Uint16(l4[0:2])))
	b = append(b, " DPT="...)
	b = appendU(b, uint64(binary.BigEndian.Uint16(l4[2:4])))
	b = append(b, ' ')
	if p.Flags&TCPSeq != 0 {
		b = append(b, "SEQ="...)
		b = appendU(b, uint64(binary.BigEndian.Uint32(l4[4:8])))
		b = append(b, " ACK="...)
		b = appendU(b, uint64(binary.BigEndian.Uint32(l4[8:12])))
		b = append(b, ' ')
	}
	b = append(b, "WINDOW="...)
	b = appendU(b, uint64(binary.BigEndian.Uint16(l4[14:16])))
	// The reserved bits after AccECN (Linux 6.18): 3 bits, shown shifted as
	// the kernel shows (flag word & 0x0E000000) >> 22; the fourth old
	// reserved bit is the AE flag.
	b = append(b, " RES=0x"...)
	b = appendHex2(b, (l4[12]&0x0E)<<2, hexLower)
	b = append(b, ' ')
	fl := l4[13]
	if l4[12]&0x01 != 0 {
		b = append(b, "AE "...)
	}
	for _, f := range [...]struct {
		bit  byte
		name string
	}{{0x80, "CWR "}, {0x40, "ECE "}, {0x20, "URG "}, {0x10, "ACK "}, {0x08, "PSH "}, {0x04, "RST "}, {0x02, "SYN "}, {0x01, "FIN "}} {
		if fl&f.bit != 0 {
			b = append(b, f.name...)
		}
	}
	b = append(b, "URGP="...)
	b = appendU(b, uint64(binary.BigEndian.Uint16(l4[18:20])))
	b = append(b, ' ')
	doff := int(l4[12]>>4) * 4
	if p.Flags&TCPOpt != 0 && doff > 20 {
		if len(l4) < doff {
			return append(b, "OPT (TRUNCATED)"...), true
		}
		b = append(b, "OPT ("...)
		for _, o := range l4[20:doff] {
			b = appendHex2(b, o, hexUpper)
		}
		b = append(b, ") "...)
	}
	return b, false
}
