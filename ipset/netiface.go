package ipset

import "sync/atomic"

// hash:net,iface keeps networks paired with interface names
// (ip_set_hash_netiface.c, revision 8): "IP[/CIDR]|FROM-TO,[physdev:]IFACE"
// with the nomatch and wildcard flags. The interface is not hashed
// (IP_SET_HASH_WITH_MULTI): every name of one network shares a bucket,
// and a bucket that fills with them widens the set's bucketsize. The set
// has no lookup index; lookups walk the emulated kernel buckets as the
// kernel does, quirks included (see matchIface).

// bucketFind returns the entry mtype_data_equal finds for k in its
// bucket, or -1.
func (s *Set) bucketFind(k elemKey) int32 {
	n := s.t.buckets[s.hkey(k, s.t.bits)]
	if n == nil {
		return -1
	}
	for j := 0; j < n.pos; j++ {
		if i := n.slot[j]; i >= 0 && s.same(&s.entries[i], k) {
			return i
		}
	}
	return -1
}

// ifaceMatch is mtype_data_match of one entry: expired or failing the
// counter comparisons is 0 (no decision), a nomatch element -1, a member
// 1. Counters are updated (unless update is false) before they are
// compared, and the skbinfo handed out, as ip_set_match_extensions does.
func (s *Set) ifaceMatch(e *entry, pktLen uint64, now int64, update bool, cm CounterMatch) int {
	if s.expired(e, now) {
		return 0
	}
	if s.Opts.Counters {
		packets, bytes := atomic.LoadUint64(&e.packets), atomic.LoadUint64(&e.bytes)
		if update {
			packets, bytes = atomic.AddUint64(&e.packets, 1), atomic.AddUint64(&e.bytes, pktLen)
		}
		if !counterOK(cm.PacketsOp, packets, cm.Packets) || !counterOK(cm.BytesOp, bytes, cm.Bytes) {
			return 0
		}
	}
	s.copySkb(&e.ext().skb, cm.Skb)
	if e.nomatch {
		return -1
	}
	return 1
}

// testIface is mtype_test for an element with its prefix length given
// (below 32: that network only), else mtype_test_cidrs: the prefix
// lengths present, longest first. As in the kernel, once a bucket holds
// the tested network with another interface (the "multi" count), no
// shorter prefix is tried, and an entry that decides nothing resets that.
func (s *Set) testIface(k elemKey, pktLen uint64, now int64, update bool, cm CounterMatch) int {
	scan := func(k elemKey, multi *int) int {
		n := s.t.buckets[s.hkey(k, s.t.bits)]
		if n == nil {
			return 0
		}
		for j := 0; j < n.pos; j++ {
			i := n.slot[j]
			if i < 0 {
				continue
			}
			e := &s.entries[i]
			if e.ip == k.ip && e.cidr == k.cidr {
				*multi++
			}
			if !s.same(e, k) {
				continue
			}
			if r := s.ifaceMatch(e, pktLen, now, update, cm); r != 0 {
				return r
			}
			*multi = 0
		}
		return 0
	}
	multi := 0
	if k.cidr != s.hostLen() {
		var held bool
		if k.ip, held = s.maskFind(k.ip, k.cidr); !held {
			return 0
		}
		return scan(k, &multi)
	}
	ip := k.ip
	for _, c := range s.nets {
		if multi != 0 {
			break
		}
		var held bool
		if k.ip, held = s.maskFind(ip, c); !held {
			continue
		}
		k.cidr = c
		if r := scan(k, &multi); r != 0 {
			return r
		}
	}
	return 0
}

// MatchIface is the set match's test of a hash:net,iface set: the first
// direction's address and the interface of the second (src: the input
// device, dst: the output device; no device, as in INPUT for dst, is no
// match). The set match cannot ask for bridge ports, so physdev: elements
// never match a packet. With --return-nomatch a nomatch element matches
// and a member does not. It does not allocate.
func (s *Set) MatchIface(ip uint32, iface string, pktLen uint64, now int64, update bool, cm CounterMatch, returnNomatch bool) bool {
	if iface == "" || s.isV6() {
		return false
	}
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	r := s.testIface(elemKey{ip: ip, cidr: 32, iface: iface}, pktLen, now, update, cm)
	if returnNomatch {
		return r < 0
	}
	return r > 0
}

// KAddIface / KDelIface are the SET target's add and delete of a
// hash:net,iface element: the packet's address under the longest prefix
// the set holds, with the interface of the second direction.
func (s *Set) KAddIface(ip uint32, iface string, pktLen uint64, now int64, timeout uint32, hasTimeout, exist bool) bool {
	if iface == "" {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	k, ok := s.kkey(ip, 0, 0, 0)
	if !ok {
		return false
	}
	k.iface = iface
	if timeout > IPSetMaxTimeout {
		timeout = IPSetMaxTimeout
	}
	x := Elem{Timeout: timeout, HasTimeout: hasTimeout, Packets: 1, Bytes: pktLen, HasPackets: true, HasBytes: true}
	err, again := s.tryAdd(k, &x, exist, now)
	return err == nil && !again
}

func (s *Set) KDelIface(ip uint32, iface string, now int64) bool {
	if iface == "" {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	k, ok := s.kkey(ip, 0, 0, 0)
	if !ok {
		return false
	}
	k.iface = iface
	return s.delAt(k, now) == nil
}
