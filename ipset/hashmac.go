package ipset

import "strings"

// hash:mac keeps Ethernet addresses (ip_set_hash_mac.c, revision 1), a
// family-neutral type. An element's key holds the address in its ip (the
// first four bytes, big-endian) and port (the last two), so the hash
// layout, index and equality of the other hash types serve it unchanged;
// hkey hashes the address's six bytes as the kernel's two-word element.
// The kernel here has no hash:mac module, so this type is checked against
// its source and ipset 7.17's printing, not against a running kernel.

func macKey(m []byte) (ip uint32, port uint16) {
	return uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3]), uint16(m[4])<<8 | uint16(m[5])
}

func keyMAC(ip uint32, port uint16) [6]byte {
	return [6]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip), byte(port >> 8), byte(port)}
}

// macWords are struct hash_mac4_elem's two words as jhash2 reads them
// (little-endian host; the last two bytes padded with zeros).
func macWords(ip uint32, port uint16) [2]uint32 {
	m := keyMAC(ip, port)
	return [2]uint32{uint32(m[0]) | uint32(m[1])<<8 | uint32(m[2])<<16 | uint32(m[3])<<24, uint32(m[4]) | uint32(m[5])<<8}
}

var errNullElem = kerr("Null-valued element, cannot be stored in a hash type of set")

func macText(b *strings.Builder, ip uint32, port uint16) { etherString(b, keyMAC(ip, port)) }

// MatchMAC is the set match's test of a hash:mac set: the source or
// destination address of the packet's Ethernet header (hdr nil: a locally
// generated packet, no match; an all-zero address is no match either).
func (s *Set) MatchMAC(hdr []byte, src bool, pktLen uint64, now int64, update bool, cm CounterMatch) bool {
	m, ok := packetMAC(hdr, src)
	if !ok {
		return false
	}
	ip, port := macKey(m)
	return s.MatchElemFlags(ip, 0, 0, port, pktLen, now, update, cm, false)
}

// KAddMAC / KDelMAC are the SET target's add and delete of the packet's
// Ethernet address.
func (s *Set) KAddMAC(hdr []byte, src bool, pktLen uint64, now int64, timeout uint32, hasTimeout, exist bool) bool {
	m, ok := packetMAC(hdr, src)
	if !ok {
		return false
	}
	ip, port := macKey(m)
	return s.KAddElem(ip, 0, 0, port, pktLen, now, timeout, hasTimeout, exist)
}

func (s *Set) KDelMAC(hdr []byte, src bool, now int64) bool {
	m, ok := packetMAC(hdr, src)
	if !ok {
		return false
	}
	ip, port := macKey(m)
	return s.KDelElem(ip, 0, 0, port, now)
}
