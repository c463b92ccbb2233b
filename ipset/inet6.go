package ipset

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
)

// Sets of family inet6. Their elements keep the same 32-bit address
// fields as inet sets, holding an id the set interns each IPv6 address
// under (addrTable), so that the hash layout emulation, the indexes and
// element equality serve both families unchanged; hkey hashes the
// addresses themselves, as the kernel's *6 variants lay them out. nfgo
// has no ip6tables, so packets never test an inet6 set (the kernel's
// ip_set_test: a family mismatch is no match); the sets are created,
// filled, tested, listed and saved as ipset does.

// addrTable interns IPv6 addresses; id 0 is ::, so that the zero checks
// of the inet code hold.
type addrTable struct {
	addrs [][16]byte
	ids   map[[16]byte]uint32
}

func newAddrTable() *addrTable {
	return &addrTable{addrs: [][16]byte{{}}, ids: map[[16]byte]uint32{{}: 0}}
}

func (t *addrTable) intern(a [16]byte) uint32 {
	if id, ok := t.ids[a]; ok {
		return id
	}
	t.addrs = append(t.addrs, a)
	id := uint32(len(t.addrs) - 1)
	t.ids[a] = id
	return id
}

func (t *addrTable) find(a [16]byte) (uint32, bool) {
	id, ok := t.ids[a]
	return id, ok
}

func (s *Set) isV6() bool { return s.a6 != nil }

// hostLen is the family's host prefix length.
func (s *Set) hostLen() uint8 {
	if s.isV6() {
		return 128
	}
	return 32
}

func mask6(a [16]byte, c uint8) [16]byte {
	for i := range a {
		switch bits := int(c) - 8*i; {
		case bits >= 8:
		case bits <= 0:
			a[i] = 0
		default:
			a[i] &= byte(0xff << (8 - bits))
		}
	}
	return a
}

// maskIntern is the address ip (an inet address, or an inet6 id) under
// prefix c, interned; maskFind the same without interning (false: no
// element can hold it).
func (s *Set) maskIntern(ip uint32, c uint8) uint32 {
	if !s.isV6() {
		return ip & mask(c)
	}
	return s.a6.intern(mask6(s.a6.addrs[ip], c))
}

// hostMasked tells whether the set masks its elements' addresses (by
// a netmask shorter than the host's or by a bitmask); hostMaskIntern and
// hostMaskFind are maskIntern and maskFind under that mask.
func (s *Set) hostMasked() bool { return s.Opts.HasBitmask || s.netmask() != s.hostLen() }

func (s *Set) hostMaskIntern(ip uint32) uint32 {
	switch {
	case !s.Opts.HasBitmask:
		return s.maskIntern(ip, s.netmask())
	case !s.isV6():
		return ip & binary.BigEndian.Uint32(s.Opts.Bitmask[:4])
	}
	return s.a6.intern(and6(s.a6.addrs[ip], s.Opts.Bitmask))
}

func (s *Set) hostMaskFind(ip uint32) (uint32, bool) {
	switch {
	case !s.Opts.HasBitmask:
		return s.maskFind(ip, s.netmask())
	case !s.isV6():
		return ip & binary.BigEndian.Uint32(s.Opts.Bitmask[:4]), true
	}
	return s.a6.find(and6(s.a6.addrs[ip], s.Opts.Bitmask))
}

// hostMaskBytes is the set's mask as the kernel's h->bitmask holds it:
// all ones to begin with, an inet mask setting the first word only (so
// an inet and an inet6 set without masks compare the same).
func (s *Set) hostMaskBytes() [16]byte {
	var m [16]byte
	for i := range m {
		m[i] = 0xff
	}
	switch {
	case s.isV6() && s.Opts.HasBitmask:
		return s.Opts.Bitmask
	case s.isV6():
		return mask6(m, s.netmask())
	case s.Opts.HasBitmask:
		copy(m[:4], s.Opts.Bitmask[:4])
	default:
		binary.BigEndian.PutUint32(m[:4], mask(s.netmask()))
	}
	return m
}

func and6(a, m [16]byte) [16]byte {
	for i := range a {
		a[i] &= m[i]
	}
	return a
}

func (s *Set) maskFind(ip uint32, c uint8) (uint32, bool) {
	if !s.isV6() {
		return ip & mask(c), true
	}
	return s.a6.find(mask6(s.a6.addrs[ip], c))
}

// ipText prints an element's address.
func (s *Set) ipText(ip uint32) string {
	if !s.isV6() {
		return ipString(ip)
	}
	return string(appendIPv6(nil, s.a6.addrs[ip]))
}

// parseIPv6 is inet_pton(AF_INET6).
func parseIPv6(s string) ([16]byte, bool) {
	if !strings.Contains(s, ":") || strings.Contains(s, "%") {
		return [16]byte{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return [16]byte{}, false
	}
	return a.As16(), true
}

// appendIPv6 is glibc's inet_ntop(AF_INET6): the longest run of two or
// more zero groups (the first of equal runs) as "::", lower-case groups
// without leading zeros, and a trailing dotted quad for the IPv4-mapped
// and IPv4-compatible forms.
func appendIPv6(b []byte, a [16]byte) []byte {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	best, bestLen, cur, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if w[i] == 0 {
			if cur < 0 {
				cur, curLen = i, 0
			}
			curLen++
			if curLen > bestLen {
				best, bestLen = cur, curLen
			}
		} else {
			cur = -1
		}
	}
	if bestLen < 2 {
		best = -1
	}
	for i := 0; i < 8; i++ {
		if best >= 0 && i >= best && i < best+bestLen {
			if i == best {
				b = append(b, ':')
			}
			continue
		}
		if i != 0 {
			b = append(b, ':')
		}
		if i == 6 && best == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			for j := 12; j < 16; j++ {
				if j > 12 {
					b = append(b, '.')
				}
				b = strconv.AppendUint(b, uint64(a[j]), 10)
			}
			return b
		}
		b = strconv.AppendUint(b, uint64(w[i]), 16)
	}
	if best >= 0 && best+bestLen == 8 {
		b = append(b, ':')
	}
	return b
}

// words6 appends an address's four words as jhash2 reads them from the
// kernel's element (little-endian host).
func (s *Set) words6(w []uint32, id uint32) []uint32 {
	a := s.a6.addrs[id]
	for i := 0; i < 16; i += 4 {
		w = append(w, uint32(a[i])|uint32(a[i+1])<<8|uint32(a[i+2])<<16|uint32(a[i+3])<<24)
	}
	return w
}

// hkey6 is hkey for the *6 variants: struct hash_ip6_elem {ip},
// hash_net6_elem {ip, padding, nomatch, cidr}, hash_ipport6_elem {ip,
// port, proto, padding}, hash_netport6_elem {ip, port, proto, cidr-1:7,
// nomatch:1}, hash_ipportip6_elem {ip, ip2, port, proto, padding},
// hash_ipportnet6_elem {ip, ip2, port, cidr-1:7, nomatch:1, proto} and
// hash_netiface6_elem_hashed {ip, physdev, cidr, nomatch, elem}.
func (s *Set) hkey6(k elemKey, b uint8) uint32 {
	var buf [9]uint32
	w := s.words6(buf[:0], k.ip)
	port := uint32(k.port>>8 | k.port<<8)
	switch s.Type {
	case TypeHashNet:
		w = append(w, uint32(k.cidr)<<24)
	case TypeHashIPPort:
		w = append(w, port|uint32(k.proto)<<16)
	case TypeHashNetPort:
		w = append(w, port|uint32(k.proto)<<16|uint32(k.cidr-1)<<24)
	case TypeHashIPPortIP:
		w = s.words6(w, k.ip2)
		w = append(w, port|uint32(k.proto)<<16)
	case TypeHashIPPortNet:
		w = s.words6(w, k.ip2)
		w = append(w, port|uint32(k.cidr-1)<<16|uint32(k.proto)<<24)
	case TypeHashNetIface:
		x := uint32(k.cidr)<<8 | 1<<24
		if k.physdev {
			x |= 1
		}
		w = append(w, x)
	}
	return jhash2(w, s.Opts.InitVal) & (1<<b - 1)
}

// v6 sizes: the element structs (set->dsize before extensions) and the
// "Size in memory" of an empty set (struct htype with the *6 element and
// nets[129] for the net types, the table and one region), as ipset 7.17
// lists them on this kernel.
func elemLen6(typ string) int {
	switch typ {
	case TypeHashIP:
		return 16
	case TypeHashIPPortIP, TypeHashIPPortNet:
		return 36
	case TypeHashNetIface:
		return 40
	}
	return 20
}

func memBase6(typ string) int {
	switch typ {
	case TypeHashIP:
		return 224
	case TypeHashIPPort, TypeHashIPPortIP:
		return 232
	case TypeHashIPPortNet:
		return 1256
	case TypeHashNetIface:
		return 1264
	}
	return 1240 // hash:net, hash:net,port
}

// icmpv6Names are libipset's ICMPv6 names (type/code).
var icmpv6Names = []icmpName{
	{"no-route", 1, 0}, {"communication-prohibited", 1, 1}, {"address-unreachable", 1, 3},
	{"port-unreachable", 1, 4}, {"packet-too-big", 2, 0}, {"ttl-zero-during-transit", 3, 0},
	{"ttl-zero-during-reassembly", 3, 1}, {"bad-header", 4, 0}, {"unknown-header-type", 4, 1},
	{"unknown-option", 4, 2}, {"echo-request", 128, 0}, {"ping", 128, 0}, {"echo-reply", 129, 0},
	{"pong", 129, 0}, {"router-solicitation", 133, 0}, {"router-advertisement", 134, 0},
	{"neighbour-solicitation", 135, 0}, {"neigbour-solicitation", 135, 0},
	{"neighbour-advertisement", 136, 0}, {"neigbour-advertisement", 136, 0}, {"redirect", 137, 0},
}
