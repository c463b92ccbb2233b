package ipset

import (
	"strconv"
	"strings"
	"sync/atomic"
)

// The bitmap:ip,mac type (ip_set_bitmap_ipmac.c, ipset_bitmap_ipmac.c):
// an address range of at most 65536 addresses, each element an address
// with an optional Ethernet address. An element added without one is
// "unfilled": the first packet from it that the set match tests fills in
// the packet's address (and starts its timeout, which until then is kept
// as a plain number of seconds, listed as given). The elements live in the
// bitmap entry store, keyed by address; the MAC state is kept beside.

const ipmacMapSize = 80 // sizeof(struct bitmap_ipmac)

// ipmacState is the bitmap_ipmac_elem of an element: its Ethernet
// address once filled, and the plain timeout (seconds) stored while it
// is not.
type ipmacState struct {
	ether  [6]byte
	filled bool
	plain  uint32
}

func (s *Set) mac(ip uint32) *ipmacState {
	if s.macs == nil {
		s.macs = map[uint32]*ipmacState{}
	}
	m := s.macs[ip]
	if m == nil {
		m = &ipmacState{}
		s.macs[ip] = m
	}
	return m
}

// ipmacExpired is ip_set_timeout_expired on the element's timeout field:
// a plain timeout (unfilled element) reads as a jiffies value long past,
// so any but 0 (permanent) is "expired" there.
func (s *Set) ipmacExpired(e *entry, now int64) bool {
	if !s.Opts.HasTimeout {
		return false
	}
	if m := s.macs[e.ip]; m != nil && !m.filled {
		return m.plain != 0
	}
	return s.expired(e, now)
}

// ipmacListed: the list skips filled elements that expired; unfilled ones
// are always listed.
func (s *Set) ipmacListed(e *entry, now int64) bool {
	if m := s.macs[e.ip]; m != nil && !m.filled {
		return true
	}
	return !s.expired(e, now)
}

// ipmacAdd is mtype_add with bitmap_ipmac_do_add and
// bitmap_ipmac_add_timeout; ether is nil when no MAC is given.
func (s *Set) ipmacAdd(ip uint32, ether []byte, x *Elem, exist bool, now int64) error {
	if !s.bmInRange(elemKey{ip: ip}) {
		return errRange
	}
	k := elemKey{ip: ip, cidr: 32}
	addMAC := ether != nil
	i := s.lookupExact(k)
	mode := 0 // 0 new, -1 store plain, 1 add failed, 2 start stored
	if i >= 0 {
		m := s.mac(ip)
		switch {
		case m.filled:
			if addMAC && exist && [6]byte(ether) != m.ether {
				m.ether = [6]byte(ether)
			}
			mode = 1
		case !addMAC:
			mode = 1
		default:
			m.ether, m.filled = [6]byte(ether), true
			mode = 2
		}
		if mode == 1 {
			if s.ipmacExpired(&s.entries[i], now) {
				mode = 0
			} else if !exist {
				return errExist
			}
		}
	} else {
		i = s.newEntry(k)
		m := s.mac(ip)
		*m = ipmacState{}
		if addMAC {
			m.ether, m.filled = [6]byte(ether), true
		} else {
			mode = -1
		}
	}
	e := &s.entries[i]
	m := s.mac(ip)
	if s.Opts.HasTimeout {
		t := s.Opts.Timeout
		if x.HasTimeout {
			t = x.Timeout
		}
		setT := func(t uint32) {
			e.expires = 0
			if t != 0 {
				e.expires = now + int64(t)*1e9
			}
		}
		switch {
		case mode == 2:
			if t == s.Opts.Timeout { // not given: the stored one
				t = m.plain
			}
			setT(t)
		case addMAC:
			setT(t)
		default:
			m.plain = t
			e.expires = 0
			if m.filled && t != 0 {
				e.expires = 1 // a plain value in a filled element: long past
			}
		}
	}
	y := *x
	y.HasTimeout = false
	saved := e.expires
	s.setExt(e, &y, now)
	e.expires = saved
	return nil
}

// ipmacDel is mtype_del: the MAC, if given, is not compared.
func (s *Set) ipmacDel(ip uint32, now int64) error {
	if !s.bmInRange(elemKey{ip: ip}) {
		return errRange
	}
	i := s.lookupExact(elemKey{ip: ip, cidr: 32})
	if i < 0 {
		return errNotExist
	}
	expired := s.ipmacExpired(&s.entries[i], now)
	s.dropEntry(i)
	delete(s.macs, ip)
	if expired {
		return errNotExist
	}
	return nil
}

// ipmacTest is the userspace test (mtype_test, ip_set_utest): an
// element without MAC, or a test without MAC, is "in set" (-EAGAIN);
// else the addresses must be equal and the element unexpired.
func (s *Set) ipmacTest(ip uint32, ether []byte, now int64) bool {
	if !s.bmInRange(elemKey{ip: ip}) {
		return false
	}
	i := s.lookupExact(elemKey{ip: ip, cidr: 32})
	if i < 0 {
		return false
	}
	m := s.mac(ip)
	if ether == nil || !m.filled {
		return true
	}
	return [6]byte(ether) == m.ether && !s.expired(&s.entries[i], now)
}

// packetMAC is what bitmap_ipmac_kadt reads: the Ethernet header must be
// there, and the source (srcMAC) or destination address must not be zero.
func packetMAC(hdr []byte, srcMAC bool) ([]byte, bool) {
	if len(hdr) < 14 {
		return nil, false
	}
	a := hdr[0:6]
	if srcMAC {
		a = hdr[6:12]
	}
	if [6]byte(a) == ([6]byte{}) {
		return nil, false
	}
	return a, true
}

// MatchIPMAC is the set match's test of a bitmap:ip,mac set: ip is the
// first direction's address, hdr the packet's link-layer header (nil when
// it has none: locally generated packets) and srcMAC the second
// direction. An unfilled element is filled with the packet's address
// (the kernel's -EAGAIN and ADD, its counters starting at this packet)
// and matches; a filled one matches when the addresses agree, with the
// counters updated unless update is false and compared with cm.
func (s *Set) MatchIPMAC(ip uint32, hdr []byte, srcMAC bool, pktLen uint64, now int64, update bool, cm CounterMatch) bool {
	ether, ok := packetMAC(hdr, srcMAC)
	if !ok || !s.bmInRange(elemKey{ip: ip}) {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	i := s.lookupExact(elemKey{ip: ip, cidr: 32})
	if i < 0 {
		return false
	}
	m := s.mac(ip)
	if !m.filled {
		x := Elem{Packets: 1, Bytes: pktLen, HasPackets: true, HasBytes: true}
		s.ipmacAdd(ip, ether, &x, false, now)
		return true
	}
	e := &s.entries[i]
	if [6]byte(ether) != m.ether || s.expired(e, now) {
		return false
	}
	if !s.Opts.Counters {
		s.copySkb(&e.ext().skb, cm.Skb)
		return true
	}
	packets, bytes := atomic.LoadUint64(&e.packets), atomic.LoadUint64(&e.bytes)
	if update {
		packets, bytes = atomic.AddUint64(&e.packets, 1), atomic.AddUint64(&e.bytes, pktLen)
	}
	if !counterOK(cm.PacketsOp, packets, cm.Packets) || !counterOK(cm.BytesOp, bytes, cm.Bytes) {
		return false
	}
	s.copySkb(&e.ext().skb, cm.Skb)
	return true
}

// KAddIPMAC is the SET target's add to a bitmap:ip,mac set (the
// packet's address and MAC); it reports whether the element was added.
func (s *Set) KAddIPMAC(ip uint32, hdr []byte, srcMAC bool, pktLen uint64, now int64, timeout uint32, hasTimeout, exist bool) bool {
	ether, ok := packetMAC(hdr, srcMAC)
	if !ok {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if timeout > IPSetMaxTimeout {
		timeout = IPSetMaxTimeout
	}
	if !hasTimeout {
		timeout, hasTimeout = s.Opts.Timeout, true
	}
	x := Elem{Timeout: timeout, HasTimeout: hasTimeout, Packets: 1, Bytes: pktLen, HasPackets: true, HasBytes: true}
	return s.ipmacAdd(ip, ether, &x, exist, now) == nil
}

// KDelIPMAC is the SET target's delete from a bitmap:ip,mac set (the
// packet must still have a non-zero MAC, which is not compared).
func (s *Set) KDelIPMAC(ip uint32, hdr []byte, srcMAC bool, now int64) bool {
	if _, ok := packetMAC(hdr, srcMAC); !ok {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.ipmacDel(ip, now) == nil
}

// parseEther is ipset_parse_ether: six hexadecimal numbers (strtol base
// 16) separated by ':'.
func parseEther(a string) ([]byte, error) {
	bad := syntaxf("cannot parse '%s' as ethernet address", a)
	if len(a) > 17 {
		return nil, bad
	}
	out := make([]byte, 6)
	p := 0
	for i := 0; i < 6; i++ {
		n, end := strtol16(a, p)
		if end == p {
			n = 0 // strtol reads nothing: 0, end at the start
		}
		ok := (end < len(a) && a[end] == ':' && i < 5) || (end == len(a) && i == 5)
		if !ok || n < 0 || n > 255 {
			return nil, bad
		}
		out[i] = byte(n)
		p = end + 1
	}
	return out, nil
}

func etherString(b *strings.Builder, m [6]byte) {
	const hex = "0123456789ABCDEF"
	for i, c := range m {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// ipmacText prints an element: the address, ",MAC" once filled, then the
// extensions (an unfilled element's timeout is its plain value).
func (s *Set) ipmacText(b *strings.Builder, e *entry, now int64, state bool) {
	b.WriteString(ipString(e.ip))
	m := s.macs[e.ip]
	if m != nil && m.filled {
		b.WriteByte(',')
		etherString(b, m.ether)
	}
	if m != nil && !m.filled && s.Opts.HasTimeout {
		if state {
			b.WriteString(" nfgo-plain " + strconv.FormatUint(uint64(m.plain), 10))
		} else {
			b.WriteString(" timeout " + strconv.FormatUint(uint64(m.plain), 10))
		}
		s.extRest(b, false, false, e.packets, e.bytes, e.ext().comment, e.ext().skb, state)
		return
	}
	s.extText(b, e.expires, false, false, e.packets, e.bytes, e.ext().comment, e.ext().skb, now, state)
}
