package ipset

// The bitmap types (ip_set_bitmap_gen.h): bitmap:port and bitmap:ip keep
// their elements in the set's entry store, keyed by port (bitmap:port) or
// by address masked by the set's netmask (bitmap:ip), and list them in key
// order, as the kernel walks its bitmap.

// IPSET_BITMAP_MAX_RANGE + 1: the most elements a bitmap set may have.
const bitmapMaxElems = 0x0000FFFF + 1

var (
	errRange     = kerr("Element is out of the range of the set")
	errRangeSize = kerr("The range you specified exceeds the size limit of the set type")
)

// bmInRange tells whether an element is within the set's range: the port
// of bitmap:port, the address of bitmap:ip.
func (s *Set) bmInRange(k elemKey) bool {
	if s.Type == TypeBitmapPort {
		return k.port >= s.Opts.PortFrom && k.port <= s.Opts.PortTo
	}
	return k.ip >= s.Opts.IPFrom && k.ip <= s.Opts.IPTo
}

// bmKey is the stored form of an element: bitmap:ip's address masked by
// the netmask (its id in the kernel's bitmap), the others as given.
func (s *Set) bmKey(k elemKey) elemKey {
	if s.Type == TypeBitmapPort {
		return elemKey{cidr: 32, port: k.port}
	}
	return elemKey{ip: k.ip & mask(s.netmask()), cidr: 32}
}

// bmAdd is the bitmap types' mtype_add: an element already there (and not
// expired) is an error unless exist, which re-adds it, resetting its
// extensions.
func (s *Set) bmAdd(k elemKey, x *Elem, exist bool, now int64) error {
	if !s.bmInRange(k) {
		return errRange
	}
	k = s.bmKey(k)
	if i := s.lookupExact(k); i >= 0 {
		e := &s.entries[i]
		if !s.expired(e, now) && !exist {
			return errExist
		}
		s.setExt(e, x, now)
		return nil
	}
	i := s.newEntry(k)
	s.setExt(&s.entries[i], x, now)
	return nil
}

func (s *Set) bmDel(k elemKey, now int64) error {
	if !s.bmInRange(k) {
		return errRange
	}
	i := s.lookupExact(s.bmKey(k))
	if i < 0 || s.expired(&s.entries[i], now) {
		return errNotExist
	}
	s.dropEntry(i)
	return nil
}

func (s *Set) bmGC(now int64) {
	for i := range s.entries {
		if e := &s.entries[i]; e.live && s.expired(e, now) {
			s.dropEntry(int32(i))
		}
	}
}

// bitmapIPGeometry is bitmap_ip_create's sizing: the range widened to
// the netmask, the hosts per element and the number of elements (the
// bitmap's length), or the kernel's refusal.
func bitmapIPGeometry(from, to uint32, netmask uint8) (first, last, hosts uint32, elements uint64, err error) {
	if netmask == 0 {
		netmask = 32
	}
	first, last = from&mask(netmask), to|^mask(netmask)
	if netmask == 32 {
		hosts, elements = 1, uint64(last)-uint64(first)+1
	} else {
		// range_to_mask: the shortest prefix whose mask maps last to first.
		m := uint32(0xFFFFFFFE)
		maskBits := uint8(32)
		for {
			maskBits--
			if maskBits == 0 || m == 0 || last&m == first {
				break
			}
			m <<= 1
		}
		if (m == 0 && (first != 0 || last != 0xFFFFFFFF)) || netmask <= maskBits {
			return 0, 0, 0, 0, errRange
		}
		hosts = uint32(2) << (32 - netmask - 1)
		elements = uint64(2) << (netmask - maskBits - 1)
	}
	if elements > bitmapMaxElems {
		return 0, 0, 0, 0, errRangeSize
	}
	return first, last, hosts, elements, nil
}

// bmElements is the length of the set's bitmap.
func (s *Set) bmElements() int {
	if s.Type == TypeBitmapPort {
		return int(s.Opts.PortTo) - int(s.Opts.PortFrom) + 1
	}
	_, _, _, n, _ := bitmapIPGeometry(s.Opts.IPFrom, s.Opts.IPTo, s.netmask())
	return int(n)
}

// bmMemSize: sizeof the type's map structure + the bitmap in longs + the
// extension area of every possible element + comments (mtype_memsize
// plus ext_size).
func (s *Set) bmMemSize() int {
	n := s.bmElements()
	base := 72 // struct bitmap_port
	switch s.Type {
	case TypeBitmapIP:
		base = 88
	case TypeBitmapIPMAC:
		base = ipmacMapSize
	}
	return base + (n+63)/64*8 + s.dsize*n + s.commentB
}

// bmMembers: live elements (all: expired ones too) in key order.
func (s *Set) bmMembers(all bool) []int32 {
	now := s.now()
	var out []int32
	for i := range s.entries {
		e := &s.entries[i]
		if !e.live {
			continue
		}
		listed := !s.expired(e, now)
		if s.Type == TypeBitmapIPMAC {
			listed = s.ipmacListed(e, now)
		}
		if all || listed {
			out = append(out, int32(i))
		}
	}
	sortBy(out, func(a, b int32) bool {
		x, y := &s.entries[a], &s.entries[b]
		if x.port != y.port {
			return x.port < y.port
		}
		return x.ip < y.ip
	})
	return out
}
