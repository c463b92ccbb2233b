package ipset

// The SET target's add and delete (each type's kadt with IPSET_ADD or
// IPSET_DEL): the element comes from a packet, errors are silent (the
// target ignores them) and a full bucket is not resized (only the ipset
// command's path, call_ad, resizes).

// IPSetMaxTimeout is IPSET_MAX_TIMEOUT: the target's --timeout is capped
// to what fits in jiffies.
const IPSetMaxTimeout = (1<<32 - 1) >> 1 / 1000

// kkey is the element a packet names: ip is the address of the first
// direction, ip2 the third direction's (the three-dimensional types),
// proto the packet's protocol and port the second direction's port as
// ip_set_get_ip4_port reads it. false: no element (an address
// masked to 0, a bitmap:port packet that is neither TCP nor UDP).
func (s *Set) kkey(ip, ip2 uint32, proto uint8, port uint16) (elemKey, bool) {
	if s.isV6() {
		return elemKey{}, false // an IPv4 packet adds nothing to an inet6 set
	}
	switch s.Type {
	case TypeBitmapPort:
		if proto != 6 && proto != 17 {
			return elemKey{}, false
		}
		return elemKey{cidr: 32, port: port}, true
	case TypeBitmapIP:
		// bitmap_ip_kadt: out of the range is an error; no zero check.
		k := elemKey{ip: ip, cidr: 32}
		return k, s.bmInRange(k)
	case TypeHashIP:
		ip = s.hostMaskIntern(ip)
		return elemKey{ip: ip, cidr: 32}, ip != 0
	case TypeHashMAC:
		return elemKey{ip: ip, cidr: 32, port: port}, true
	case TypeHashIPPort:
		if !protoWithPorts(proto) && proto != 1 {
			port = 0
		}
		ip = s.hostMaskIntern(ip) // hash_ipport4_kadt: masked, 0 refused
		return elemKey{ip: ip, cidr: 32, proto: proto, port: port}, ip != 0
	case TypeHashIPPortIP:
		// hash_ipportip4_kadt: no zero check.
		if !protoWithPorts(proto) && proto != 1 {
			port = 0
		}
		return elemKey{ip: ip, ip2: ip2, cidr: 32, proto: proto, port: port}, true
	}
	// The net types add the packet's address under the longest prefix
	// the set holds (INIT_CIDR(h->nets[0].cidr[0], HOST_MASK)).
	c := uint8(32)
	if len(s.nets) > 0 {
		c = s.nets[0]
	}
	if s.Type == TypeHashIPPortNet {
		// hash_ipportnet4_kadt: the prefix is the third part's.
		if !protoWithPorts(proto) && proto != 1 {
			port = 0
		}
		return elemKey{ip: ip, ip2: ip2 & mask(c), cidr: c, proto: proto, port: port}, true
	}
	k := elemKey{ip: ip & mask(c), cidr: c}
	if s.Type == TypeHashNetPort {
		if !protoWithPorts(proto) && proto != 1 {
			port = 0
		}
		k.proto, k.port = proto, port
	}
	return k, true
}

// KAdd adds the element of a packet of pktLen bytes at time now (Unix
// ns). timeout is the target's --timeout (seconds), used when hasTimeout
// and the set has timeouts; exist (--exist) re-adds an element already
// there, resetting its timeout and counters. The new element's counters
// start at this packet, its comment is empty.
func (s *Set) KAdd(ip uint32, proto uint8, port uint16, pktLen uint64, now int64, timeout uint32, hasTimeout, exist bool) {
	s.KAddElem(ip, 0, proto, port, pktLen, now, timeout, hasTimeout, exist)
}

// KAddElem is KAdd with the third direction's address of the
// three-dimensional types (ignored by the others). The caller must not
// call it with fewer directions than the set's type has (the kernel's
// ip_set_add refuses them). It reports whether the element was added (the
// kadt's 0, which ends a list:set's walk over its members).
func (s *Set) KAddElem(ip, ip2 uint32, proto uint8, port uint16, pktLen uint64, now int64, timeout uint32, hasTimeout, exist bool) bool {
	if s.isList() {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	k, ok := s.kkey(ip, ip2, proto, port)
	if !ok {
		return false
	}
	if timeout > IPSetMaxTimeout {
		timeout = IPSetMaxTimeout
	}
	x := Elem{Timeout: timeout, HasTimeout: hasTimeout, Packets: 1, Bytes: pktLen, HasPackets: true, HasBytes: true}
	if s.isBitmap() {
		return s.bmAdd(k, &x, exist, now) == nil
	}
	err, again := s.tryAdd(k, &x, exist, now)
	return err == nil && !again
}

// KDel deletes the element of a packet, if it is there.
func (s *Set) KDel(ip uint32, proto uint8, port uint16, now int64) {
	s.KDelElem(ip, 0, proto, port, now)
}

// KDelElem is KDel with the third direction's address; it reports
// whether an element was deleted.
func (s *Set) KDelElem(ip, ip2 uint32, proto uint8, port uint16, now int64) bool {
	if s.isList() {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if k, ok := s.kkey(ip, ip2, proto, port); ok {
		return s.delAt(k, now) == nil
	}
	return false
}
