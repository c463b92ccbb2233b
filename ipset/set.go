// Package ipset implements IP sets as the kernel's net/netfilter/ipset
// keeps them, with the ipset 7.17 userspace's syntax, output and messages:
// the hash:ip, hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip and
// hash:ip,port,net and hash:net,iface types (families inet and inet6:
// inet6.go), hash:mac, bitmap:port,
// bitmap:ip (with its netmask), bitmap:ip,mac and list:set, with the
// timeout, counters, comment, skbinfo, nomatch and forceadd extensions. The bitmap types keep their
// elements in the same entry store (keyed by port, or by address masked by
// the netmask), listed in key order, with the kernel's memory accounting;
// bitmap:ip,mac keeps each element's MAC beside it (an element added
// without one is completed by the first packet the set match tests, as
// the kernel's -EAGAIN does). A list:set is an ordered list of other sets,
// each member holding a reference on its set (list.go); "ipset list" and
// "save" print the list:set sets after the others (IPSET_DUMP_LAST).
// The kernel's other types (hash:ip,mac, hash:net,net, ...) are refused
// by name.
//
// Lookups use Go maps (hash:ip: one map; hash:net: one map per prefix
// length present, tried longest prefix first as the kernel does; for
// hash:ip,port,net the prefix is the third part's) and do not allocate. Beside them the kernel's own hash table layout is emulated
// (jhash2 with the set's initval, buckets growing by 2 up to bucketsize,
// doubling resize): it decides the order of "ipset list", the "Size in
// memory" and the hashsize shown, so these match the kernel's.
package ipset

import (
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Set types.
const (
	TypeHashIP      = "hash:ip"
	TypeHashNet     = "hash:net"
	TypeHashIPPort  = "hash:ip,port"
	TypeHashNetPort = "hash:net,port"
	TypeBitmapPort  = "bitmap:port"
	TypeBitmapIP    = "bitmap:ip"

	TypeHashIPPortIP  = "hash:ip,port,ip"
	TypeHashIPPortNet = "hash:ip,port,net"
	TypeBitmapIPMAC   = "bitmap:ip,mac"
	TypeHashNetIface  = "hash:net,iface"
	TypeHashMAC       = "hash:mac"
)

// Kernel constants (ip_set_hash_gen.h, ip_set.h).
const (
	ahashInitSize   = 2
	ahashMaxSize    = 12
	ahashMaxTuned   = 64
	regionBits      = 10
	defaultHashsize = 1024
	minimalHashsize = 64
	// htable_size refuses a bucket array of more than INT_MAX bytes: at
	// 8 bytes a pointer, 2^27 buckets is the most a hash set can have,
	// at create ("Cannot allocate memory") and at resize ("Hash is full").
	maxHtableBits    = 27
	defaultMaxelem   = 65536
	maxCommentSize   = 255
	MaxTimeout       = 2147483 // UINT_MAX/1000
	hbucketSize      = 32      // sizeof(struct hbucket)
	regionSize       = 24      // sizeof(struct ip_set_region)
	commentRCUSize   = 16      // sizeof(struct ip_set_comment_rcu)
	maxSetNameLength = 31
)

// Options are the create-time parameters of a set.
type Options struct {
	Family     string // "inet"
	Hashsize   uint32
	Maxelem    uint32
	HasMaxelem bool // given: 0 is a set that takes no element
	// Bitmask (hash:ip, hash:ip,port; exclusive with Netmask) masks
	// the addresses as a netmask does, bit by bit: an inet mask in the
	// first 4 bytes.
	Bitmask    [16]byte
	HasBitmask bool
	Netmask    uint8  // hash:ip, hash:ip,port, bitmap:ip; 0 = 32
	PortFrom   uint16 // bitmap:port range
	PortTo     uint16
	IPFrom     uint32 // bitmap:ip range (netmask applied)
	IPTo       uint32
	Size       uint32 // list:set
	HasSize    bool
	Timeout    uint32
	HasTimeout bool
	Counters   bool
	Comment    bool
	SkbInfo    bool
	ForceAdd   bool
	BucketSize uint8
	InitVal    uint32
	HasInitVal bool
}

// Elem is the extension data of one element as given to Add.
type Elem struct {
	Timeout    uint32 // seconds; used when HasTimeout
	HasTimeout bool
	Packets    uint64
	Bytes      uint64
	HasPackets bool // given: a re-added element keeps its counters
	HasBytes   bool // unless given (ip_set_init_counter)
	Comment    string
	HasComment bool
	NoMatch    bool
	Skb        SkbInfo // the parts given; the others are zero
	HasSkb     bool
}

// SkbInfo is the skbinfo extension (struct ip_set_skbinfo): the mark
// (with its mask), priority and queue the SET target's --map-set gives a
// packet.
type SkbInfo struct {
	Mark, Mask, Prio uint32
	Queue            uint16
}

// entry is a stored element.
type entry struct {
	ip      uint32
	ip2     uint32 // the third part of hash:ip,port,ip and hash:ip,port,net
	cidr    uint8  // hash:ip,port,net: the third part's prefix length
	proto   uint8
	port    uint16
	nomatch bool
	live    bool
	expires int64 // Unix ns; 0 = permanent
	packets uint64
	bytes   uint64
	x       *entryExt // the rarer parts; nil when all are zero
}

// entryExt holds what most elements lack, so that an entry stays small:
// the comment, the skbinfo, and hash:net,iface's interface name, whether
// it names a bridge port (physdev:) and whether it is a prefix
// (wildcard).
type entryExt struct {
	comment           string
	skb               SkbInfo
	iface             string
	physdev, wildcard bool
}

var noExt entryExt

// ext is the entry's extension data for reading (never written through).
func (e *entry) ext() *entryExt {
	if e.x == nil {
		return &noExt
	}
	return e.x
}

// extw is the entry's extension data for writing.
func (e *entry) extw() *entryExt {
	if e.x == nil {
		e.x = new(entryExt)
	}
	return e.x
}

// hbucket emulates the kernel's struct hbucket: size slots, pos the first
// never-used slot, slot[i] < 0 when not in use.
type hbucket struct {
	slot []int32
	pos  int
}

type htable struct {
	bits    uint8
	buckets []*hbucket
	elems   []uint32 // per region
	ext     []int    // per region ext_size
	maxelem uint32   // per region
}

func nlocks(bits uint8) int {
	if bits < regionBits {
		return 1
	}
	return 1 << (bits - regionBits)
}

// region is ahash_region: the buckets are locked and counted in
// regions of 2^regionBits consecutive buckets (kernels before 6.13 took
// key % nlocks, spreading a region's buckets over the table).
func region(key uint32) int { return int(key >> regionBits) }

func newHtable(bits uint8, maxelem uint32) *htable {
	n := nlocks(bits)
	return &htable{bits: bits, buckets: make([]*hbucket, 1<<bits),
		elems: make([]uint32, n), ext: make([]int, n), maxelem: maxelem / uint32(n)}
}

// Set is one IP set.
type Set struct {
	Name     string
	Type     string
	Opts     Options
	Refs     int // references held by rules (set match, SET target)
	dsize    int
	elemLen  int
	t        *htable
	entries  []entry
	free     []int32
	index    [129]map[ikey]int32 // by prefix length
	idx32    [129]*u32index      // the same, for the one-address types (use32)
	nets     []uint8             // prefix lengths present, longest first
	netCount [129]uint32
	a6       *addrTable // inet6 sets: the addresses the elements' ids name
	commentB int        // set->ext_size
	pending  []int32    // state loading: entries not yet placed
	clock    func() int64

	list        []listElem             // list:set members, in order
	pendingList []pendingMember        // state loading: members not yet resolved
	reg         *Registry              // the registry the set is in (list:set names)
	macs        map[uint32]*ipmacState // bitmap:ip,mac: the MAC of each element

	// pmu orders the packet path (the kernel's set lock and RCU): the
	// set match reads under it, the SET target writes under it. Counters
	// are bumped atomically, as many readers may hit one element.
	pmu *sync.RWMutex
}

// Revision is the kernel revision of the type.
func (s *Set) Revision() int {
	switch s.Type {
	case TypeHashNet, TypeHashIPPort:
		return 7
	case TypeHashNetPort, TypeHashIPPortNet, TypeHashNetIface:
		return 8
	case TypeBitmapPort, TypeBitmapIP, TypeListSet, TypeBitmapIPMAC:
		return 3
	case TypeHashMAC:
		return 1
	}
	return 6
}

func (s *Set) isBitmap() bool {
	return s.Type == TypeBitmapPort || s.Type == TypeBitmapIP || s.Type == TypeBitmapIPMAC
}

// elemKey identifies an element: address, second address (the third
// part of the three-dimensional types), prefix length (32 for host types;
// of the second address for hash:ip,port,net), protocol and port (0 for
// the one-dimensional types; the port only for bitmap:port).
type elemKey struct {
	ip    uint32
	ip2   uint32
	cidr  uint8
	proto uint8
	port  uint16
	// hash:net,iface
	iface             string
	physdev, wildcard bool
}

func (e *entry) key() elemKey {
	x := e.ext()
	return elemKey{e.ip, e.ip2, e.cidr, e.proto, e.port, x.iface, x.physdev, x.wildcard}
}

// same is mtype_data_equal of a stored entry and an element: the keys
// agree; for hash:net,iface the wildcard flag is no part of the key but
// a stored wildcard name matches every name it begins.
func (s *Set) same(e *entry, k elemKey) bool {
	if s.Type != TypeHashNetIface {
		return e.key() == k
	}
	x := e.ext()
	if e.ip != k.ip || e.cidr != k.cidr || x.physdev != k.physdev {
		return false
	}
	if x.wildcard {
		return strings.HasPrefix(k.iface, x.iface)
	}
	return x.iface == k.iface
}

// ikey is the index map key of an element within its prefix length.
type ikey struct {
	ip, ip2 uint32
	proto   uint8
	port    uint16
}

func (k elemKey) ikey() ikey { return ikey{k.ip, k.ip2, k.proto, k.port} }

// isNet: the types with prefix lengths and the nomatch flag.
func (s *Set) isNet() bool {
	return s.Type == TypeHashNet || s.Type == TypeHashNetPort || s.Type == TypeHashIPPortNet || s.Type == TypeHashNetIface
}

// netOnIP: the prefix length is the first address's.
func (s *Set) netOnIP() bool {
	return s.Type == TypeHashNet || s.Type == TypeHashNetPort || s.Type == TypeHashNetIface
}

func (s *Set) hasPort() bool {
	return s.Type == TypeHashIPPort || s.Type == TypeHashNetPort || s.hasIP2()
}

// hasIP2: the three-dimensional types (IP,PORT,IP2).
func (s *Set) hasIP2() bool { return s.Type == TypeHashIPPortIP || s.Type == TypeHashIPPortNet }

func align(n, a int) int { return (n + a - 1) / a * a }

func newSet(name, typ string, o Options, clock func() int64) *Set {
	s := &Set{Name: name, Type: typ, Opts: o, clock: clock, pmu: new(sync.RWMutex)}
	s.elemLen = 4
	switch typ {
	case TypeHashNet, TypeHashIPPort, TypeHashNetPort, TypeHashMAC:
		s.elemLen = 8
	case TypeHashIPPortIP, TypeHashIPPortNet:
		s.elemLen = 12
	case TypeHashNetIface:
		s.elemLen = 28 // struct hash_netiface4_elem: 25 bytes, aligned to 4
	case TypeBitmapPort, TypeBitmapIP:
		s.elemLen = 0
	case TypeBitmapIPMAC:
		s.elemLen = 8 // struct bitmap_ipmac_elem
	case TypeListSet:
		s.elemLen = listElemLen
	}
	if o.Family == "inet6" {
		s.a6 = newAddrTable()
		s.elemLen = elemLen6(typ)
	}
	off := s.elemLen
	if o.HasTimeout {
		off = align(off, 8) + 8
	}
	if o.Counters {
		off = align(off, 8) + 16
	}
	if o.Comment {
		off = align(off, 8) + 8
	}
	if o.SkbInfo {
		off = align(off, 4) + 16
	}
	s.dsize = align(off, 4)
	if typ == TypeListSet || typ == TypeBitmapIPMAC {
		s.dsize = align(off, 8) // __alignof__ the element struct
	}
	s.t = newHtable(uint8(hashBits(o.Hashsize)), o.Maxelem)
	return s
}

// hashBits is htable_bits: the hashsize rounded up to a power of two.
func hashBits(hashsize uint32) int {
	if hashsize < minimalHashsize {
		hashsize = minimalHashsize
	}
	return bits.Len32(hashsize - 1)
}

func (s *Set) now() int64 { return s.clock() }

func (s *Set) expired(e *entry, now int64) bool {
	return e.expires != 0 && now > e.expires
}

// hkey computes the bucket of an element as HKEY does: jhash2 over the
// element struct's words in memory (little-endian host).
// The element structs: hash_ip4_elem {ip}, hash_net4_elem {ip, padding,
// nomatch, cidr}, hash_ipport4_elem {ip, port, proto, padding} and
// hash_netport4_elem {ip, port, proto, cidr-1:7, nomatch:1} (nomatch is
// cleared while hashing), hash_ipportip4_elem {ip, ip2, port, proto,
// padding} and hash_ipportnet4_elem {ip, ip2, port, cidr-1:7, nomatch:1,
// proto}.
func (s *Set) hkey(k elemKey, b uint8) uint32 {
	if s.isV6() {
		return s.hkey6(k, b)
	}
	var w [3]uint32
	w[0] = bits.ReverseBytes32(k.ip)
	n := 2
	switch s.Type {
	case TypeHashIPPortIP:
		n = 3
		w[1] = bits.ReverseBytes32(k.ip2)
		w[2] = uint32(bits.ReverseBytes16(k.port)) | uint32(k.proto)<<16
	case TypeHashIPPortNet:
		n = 3
		w[1] = bits.ReverseBytes32(k.ip2)
		w[2] = uint32(bits.ReverseBytes16(k.port)) | uint32(k.cidr-1)<<16 | uint32(k.proto)<<24
	case TypeHashIP:
		n = 1
	case TypeHashMAC:
		w2 := macWords(k.ip, k.port)
		w[0], w[1] = w2[0], w2[1]
	case TypeHashNet:
		w[1] = uint32(k.cidr) << 24
	case TypeHashIPPort:
		w[1] = uint32(bits.ReverseBytes16(k.port)) | uint32(k.proto)<<16
	case TypeHashNetPort:
		w[1] = uint32(bits.ReverseBytes16(k.port)) | uint32(k.proto)<<16 | uint32(k.cidr-1)<<24
	case TypeHashNetIface:
		// hash_netiface4_elem_hashed {ip, physdev, cidr, nomatch, elem
		// = 1}: the interface is not hashed (IP_SET_HASH_WITH_MULTI).
		w[1] = uint32(k.cidr)<<8 | 1<<24
		if k.physdev {
			w[1] |= 1
		}
	}
	return jhash2(w[:n], s.Opts.InitVal) & (1<<b - 1)
}

// use32: the element key is the address alone (and the prefix length).
func (s *Set) use32() bool {
	switch s.Type {
	case TypeHashIP, TypeHashNet, TypeBitmapIP, TypeBitmapIPMAC:
		return true
	}
	return false
}

func (s *Set) lookupExact(k elemKey) int32 {
	if s.Type == TypeHashNetIface {
		return s.bucketFind(k)
	}
	if s.use32() {
		i, _ := s.idx32[k.cidr].get(k.ip)
		return i
	}
	m := s.index[k.cidr]
	if m == nil {
		return -1
	}
	if i, ok := m[k.ikey()]; ok {
		return i
	}
	return -1
}

func (s *Set) addCidr(c uint8) {
	if !s.isNet() {
		return
	}
	s.netCount[c]++
	if s.netCount[c] > 1 {
		return
	}
	i := 0
	for i < len(s.nets) && s.nets[i] > c {
		i++
	}
	s.nets = append(s.nets, 0)
	copy(s.nets[i+1:], s.nets[i:])
	s.nets[i] = c
}

func (s *Set) delCidr(c uint8) {
	if !s.isNet() || s.netCount[c] == 0 {
		return
	}
	s.netCount[c]--
	if s.netCount[c] > 0 {
		return
	}
	for i, x := range s.nets {
		if x == c {
			s.nets = append(s.nets[:i], s.nets[i+1:]...)
			return
		}
	}
}

func commentCost(c string) int {
	if c == "" {
		return 0
	}
	return commentRCUSize + len(c) + 1
}

// setExt initialises the extensions of a stored entry (the kernel's
// overwrite_extensions part of mtype_add).
func (s *Set) setExt(e *entry, x *Elem, now int64) {
	if s.isNet() {
		e.nomatch = x.NoMatch
		if s.use32() {
			s.idx32[e.cidr].setNomatch(e.ip, x.NoMatch) // lookupNM reads it there
		}
	}
	if s.Opts.Counters {
		if x.HasPackets {
			e.packets = x.Packets
		}
		if x.HasBytes {
			e.bytes = x.Bytes
		}
	}
	if s.Opts.Comment {
		s.commentB -= commentCost(e.ext().comment)
		if e.x != nil {
			e.x.comment = ""
		}
		if x.HasComment {
			c := x.Comment
			if len(c) > maxCommentSize {
				c = c[:maxCommentSize]
			}
			if c != "" {
				e.extw().comment = c
			}
			s.commentB += commentCost(c)
		}
	}
	if s.Opts.SkbInfo {
		// ip_set_init_skbinfo: the parts not given are zero
		if x.Skb != (SkbInfo{}) {
			e.extw().skb = x.Skb
		} else if e.x != nil {
			e.x.skb = SkbInfo{}
		}
	}
	if s.Opts.HasTimeout {
		t := s.Opts.Timeout
		if x.HasTimeout {
			t = x.Timeout
		}
		if t == 0 {
			e.expires = 0
		} else {
			e.expires = now + int64(t)*1e9
		}
	}
}

func (s *Set) newEntry(k elemKey) int32 {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
		s.entries[i] = entry{}
	} else {
		s.entries = append(s.entries, entry{})
		i = int32(len(s.entries) - 1)
	}
	e := &s.entries[i]
	e.ip, e.ip2, e.cidr, e.proto, e.port, e.live = k.ip, k.ip2, k.cidr, k.proto, k.port, true
	if k.iface != "" || k.physdev || k.wildcard {
		x := e.extw()
		x.iface, x.physdev, x.wildcard = k.iface, k.physdev, k.wildcard
	}
	if s.Type == TypeHashNetIface {
		// no index: lookups walk the kernel's buckets (netiface.go)
	} else if s.use32() {
		if s.idx32[k.cidr] == nil {
			s.idx32[k.cidr] = &u32index{}
		}
		s.idx32[k.cidr].put(k.ip, i)
	} else {
		if s.index[k.cidr] == nil {
			s.index[k.cidr] = make(map[ikey]int32)
		}
		s.index[k.cidr][k.ikey()] = i
	}
	s.addCidr(k.cidr)
	return i
}

// dropEntry removes an entry from the index (its slot is handled by the caller).
func (s *Set) dropEntry(i int32) {
	e := &s.entries[i]
	if s.Type == TypeHashNetIface {
	} else if s.use32() {
		s.idx32[e.cidr].del(e.ip)
	} else {
		delete(s.index[e.cidr], e.key().ikey())
	}
	s.delCidr(e.cidr)
	s.commentB -= commentCost(e.ext().comment)
	*e = entry{}
	s.free = append(s.free, i)
}

func (s *Set) extSize(n int) int { return hbucketSize + n*s.dsize }

// errors returned by add/del, the kernel's
var (
	errExist    = kerr("Element cannot be added to the set: it's already added")
	errNotExist = kerr("Element cannot be deleted from the set: it's not added")
	errFull     = kerr("Hash is full, cannot add more elements")
)

// add is mtype_add plus the core's resize-and-retry (the ipset command's
// path, call_ad).
func (s *Set) add(k elemKey, x *Elem, exist bool) error {
	now := s.now()
	if s.isBitmap() {
		return s.bmAdd(k, x, exist, now)
	}
	if s.isList() {
		return errListName
	}
	for {
		err, again := s.tryAdd(k, x, exist, now)
		if !again {
			return err
		}
		if err := s.resize(); err != nil {
			return err
		}
	}
}

func (s *Set) tryAdd(k elemKey, x *Elem, exist bool, now int64) (error, bool) {
	t := s.t
	key := s.hkey(k, t.bits)
	r := region(key)
	elements, maxelem := t.elems[r], t.maxelem
	forceadd := false
	if elements >= maxelem {
		if s.Opts.HasTimeout {
			s.gcRegion(r, now)
		}
		maxelem = s.Opts.Maxelem
		elements = 0
		for _, e := range t.elems {
			elements += e
		}
		if elements >= maxelem && s.Opts.ForceAdd {
			forceadd = true
		}
	}
	n := t.buckets[key]
	if n == nil {
		if forceadd || elements >= maxelem {
			return errFull, false
		}
		n = &hbucket{slot: []int32{-1, -1}}
		t.buckets[key] = n
		t.ext[r] += s.extSize(ahashInitSize)
		j := n.pos
		n.pos++
		s.place(n, j, k, x, now, r)
		return nil, false
	}
	j := -1
	deleted, reuse := false, false
	multi := 0 // entries of the same network (IP_SET_HASH_WITH_MULTI)
	for i := 0; i < n.pos; i++ {
		if n.slot[i] < 0 {
			if j == -1 {
				deleted, reuse = true, true
				j = i
			}
			continue
		}
		e := &s.entries[n.slot[i]]
		if e.ip == k.ip && e.cidr == k.cidr {
			multi++
		}
		if s.same(e, k) {
			if exist || s.expired(e, now) {
				s.setExt(e, x, now)
				return nil, false
			}
			return errExist, false
		}
		if s.expired(e, now) && j == -1 {
			j = i
			reuse = true
		}
	}
	if reuse || forceadd {
		if j == -1 {
			j = 0
		}
		if !deleted {
			s.dropEntry(n.slot[j])
			n.slot[j] = -1
			t.elems[r]--
		}
		s.place(n, j, k, x, now, r)
		return nil, false
	}
	if elements >= maxelem {
		return errFull, false
	}
	if n.pos >= len(n.slot) {
		if s.Type == TypeHashNetIface {
			// many interfaces of one network widen the buckets
			if s.Opts.BucketSize >= ahashMaxTuned {
				return errFull, false
			} else if int(s.Opts.BucketSize) <= multi {
				s.Opts.BucketSize += ahashInitSize
			}
		}
		if len(n.slot) >= int(s.Opts.BucketSize) {
			return nil, true
		}
		n.slot = append(n.slot, -1, -1)
		t.ext[r] += s.extSize(ahashInitSize)
	}
	j = n.pos
	n.pos++
	s.place(n, j, k, x, now, r)
	return nil, false
}

func (s *Set) place(n *hbucket, j int, k elemKey, x *Elem, now int64, r int) {
	i := s.newEntry(k)
	n.slot[j] = i
	s.t.elems[r]++
	s.setExt(&s.entries[i], x, now)
}

// resize doubles the table until every bucket fits (mtype_resize);
// expired elements are dropped on the way.
func (s *Set) resize() error {
	now := s.now()
	orig := s.t
	b := orig.bits
retry:
	b++
	if b > maxHtableBits {
		return kerr("Hash is full, cannot add more elements")
	}
	t := newHtable(b, s.Opts.Maxelem)
	var drop []int32
	for _, n := range orig.buckets {
		if n == nil {
			continue
		}
		for j := 0; j < n.pos; j++ {
			i := n.slot[j]
			if i < 0 {
				continue
			}
			e := &s.entries[i]
			if s.expired(e, now) {
				drop = append(drop, i)
				continue
			}
			key := s.hkey(e.key(), b)
			nr := region(key)
			m := t.buckets[key]
			if m == nil {
				m = &hbucket{slot: []int32{-1, -1}}
				t.buckets[key] = m
				t.ext[nr] += s.extSize(ahashInitSize)
			} else if m.pos >= len(m.slot) {
				if len(m.slot) >= int(s.Opts.BucketSize) {
					goto retry
				}
				m.slot = append(m.slot, -1, -1)
				t.ext[nr] += s.extSize(ahashInitSize)
			}
			m.slot[m.pos] = i
			m.pos++
			t.elems[nr]++
		}
	}
	for _, i := range drop {
		s.dropEntry(i)
	}
	s.t = t
	return nil
}

// gcRegion drops the expired elements of one region (mtype_gc_do).
func (s *Set) gcRegion(r int, now int64) {
	t := s.t
	start, end := 0, len(t.buckets)
	if t.bits >= regionBits {
		start = r << regionBits
		end = start + 1<<regionBits
	}
	for k := start; k < end; k++ {
		n := t.buckets[k]
		if n == nil {
			continue
		}
		d := 0
		for j := 0; j < n.pos; j++ {
			i := n.slot[j]
			if i < 0 {
				d++
				continue
			}
			if !s.expired(&s.entries[i], now) {
				continue
			}
			s.dropEntry(i)
			n.slot[j] = -1
			t.elems[r]--
			d++
		}
		if d >= ahashInitSize {
			if d >= len(n.slot) {
				t.ext[r] -= s.extSize(len(n.slot))
				t.buckets[k] = nil
				continue
			}
			ns := make([]int32, 0, len(n.slot)-ahashInitSize)
			for j := 0; j < n.pos; j++ {
				if n.slot[j] >= 0 {
					ns = append(ns, n.slot[j])
				}
			}
			pos := len(ns)
			for len(ns) < len(n.slot)-ahashInitSize {
				ns = append(ns, -1)
			}
			n.slot, n.pos = ns, pos
			t.ext[r] -= s.extSize(ahashInitSize)
		}
	}
}

// GC drops every expired element, as the kernel's periodic garbage
// collector does.
func (s *Set) GC() {
	now := s.now()
	if s.isBitmap() {
		s.bmGC(now)
		return
	}
	if s.isList() {
		s.listCleanup(now)
		return
	}
	for r := range s.t.elems {
		s.gcRegion(r, now)
	}
}

// del is mtype_del.
func (s *Set) del(ek elemKey) error { return s.delAt(ek, s.now()) }

func (s *Set) delAt(ek elemKey, now int64) error {
	if s.isBitmap() {
		return s.bmDel(ek, now)
	}
	if s.isList() {
		return errNotExist
	}
	t := s.t
	key := s.hkey(ek, t.bits)
	r := region(key)
	n := t.buckets[key]
	if n == nil {
		return errNotExist
	}
	k := 0
	for i := 0; i < n.pos; i++ {
		si := n.slot[i]
		if si < 0 {
			k++
			continue
		}
		e := &s.entries[si]
		if !s.same(e, ek) {
			continue
		}
		if s.expired(e, now) {
			return errNotExist
		}
		n.slot[i] = -1
		if i+1 == n.pos {
			n.pos--
		}
		t.elems[r]--
		s.dropEntry(si)
		for ; i < n.pos; i++ {
			if n.slot[i] < 0 {
				k++
			}
		}
		if k == n.pos { // every slot below pos a hole
			t.ext[r] -= s.extSize(len(n.slot))
			t.buckets[key] = nil
		} else if k >= ahashInitSize {
			ns := make([]int32, 0, len(n.slot)-ahashInitSize)
			for j := 0; j < n.pos; j++ {
				if n.slot[j] >= 0 {
					ns = append(ns, n.slot[j])
				}
			}
			pos := len(ns)
			for len(ns) < len(n.slot)-ahashInitSize {
				ns = append(ns, -1)
			}
			n.slot, n.pos = ns, pos
			t.ext[r] -= s.extSize(ahashInitSize)
		}
		return nil
	}
	return errNotExist
}

// Flush removes every element.
func (s *Set) Flush() {
	if s.isList() {
		s.listFlush()
		return
	}
	s.t = newHtable(s.t.bits, s.Opts.Maxelem)
	s.macs = nil
	s.entries, s.free = nil, nil
	s.index = [129]map[ikey]int32{}
	s.idx32 = [129]*u32index{}
	s.nets = nil
	s.netCount = [129]uint32{}
	if s.isV6() {
		s.a6 = newAddrTable()
	}
	s.commentB = 0
}

func mask(c uint8) uint32 {
	if c == 0 {
		return 0
	}
	return ^uint32(0) << (32 - c)
}

// matchEntry: 1 match, 0 no entry, -1 nomatch entry.
func (s *Set) matchEntry(i int32, now int64) int {
	e := &s.entries[i]
	if s.expired(e, now) {
		return 0
	}
	if e.nomatch {
		return -1
	}
	return 1
}

// lookup returns the index of the entry an address matches, or -1 (no
// entry, or a nomatch entry decides). A two-dimensional set never matches
// a one-dimensional test (ip_set_test: opt->dim < the type's dimension).
func (s *Set) lookup(ip uint32, now int64) int32 {
	if s.hasPort() || s.Type == TypeBitmapPort {
		return -1
	}
	return s.lookupK(ip, 0, 0, now)
}

// lookupK is lookupE of a two-dimensional element.
func (s *Set) lookupK(ip uint32, proto uint8, port uint16, now int64) int32 {
	return s.lookupE(elemKey{ip: ip, proto: proto, port: port}, now)
}

// lookupE is mtype_test / mtype_test_cidrs: the host types look the
// (masked) address up, the net types try the prefix lengths present,
// longest first (of the first address, or of the second for
// hash:ip,port,net), a nomatch element ending the search.
func (s *Set) lookupE(k elemKey, now int64) int32 {
	i, _ := s.lookupNM(k, now)
	return i
}

// lookupNM is lookupE that also tells whether a nomatch element ended
// the search.
func (s *Set) lookupNM(k elemKey, now int64) (int32, bool) {
	if !s.isNet() {
		if s.hostMasked() {
			var ok bool
			if k.ip, ok = s.hostMaskFind(k.ip); !ok {
				return -1, false
			}
		}
		if s.use32() {
			// The host types have no nomatch elements: without timeouts
			// the index alone decides (no read of the entry).
			if i, ok := s.idx32[32].get(k.ip); ok && (!s.Opts.HasTimeout || s.matchEntry(i, now) > 0) {
				return i, false
			}
			return -1, false
		}
		if m := s.index[32]; m != nil {
			if i, ok := m[k.ikey()]; ok && s.matchEntry(i, now) > 0 {
				return i, false
			}
		}
		return -1, false
	}
	if s.Type == TypeHashNet && !s.Opts.HasTimeout && !s.isV6() {
		// inet hash:net without timeouts: the index decides alone (it
		// holds the nomatch flag), so the loop below without its
		// per-type tests (an inet6 address is an id, masked by maskFind).
		for _, c := range s.nets {
			if i, nomatch, ok := s.idx32[c].find(k.ip & mask(c)); ok {
				if nomatch {
					return -1, true
				}
				return i, false
			}
		}
		return -1, false
	}
	ip, ip2 := k.ip, k.ip2
	for _, c := range s.nets {
		var held bool
		if s.netOnIP() {
			k.ip, held = s.maskFind(ip, c)
		} else {
			k.ip2, held = s.maskFind(ip2, c)
		}
		if !held {
			continue
		}
		var i int32
		var ok bool
		if s.use32() {
			i, ok = s.idx32[c].get(k.ip)
		} else {
			i, ok = s.index[c][k.ikey()]
		}
		if !ok {
			continue
		}
		switch s.matchEntry(i, now) {
		case 1:
			return i, false
		case -1:
			return -1, true
		}
	}
	return -1, false
}

func (s *Set) netmask() uint8 {
	if s.Opts.Netmask == 0 || s.Type == TypeBitmapPort {
		return s.hostLen()
	}
	return s.Opts.Netmask
}

// Test reports whether an IPv4 address (host order) is in the set, as
// the set match tests a packet address. It does not allocate.
func (s *Set) Test(ip uint32) bool { return s.lookup(ip, s.now()) >= 0 }

// Len is the number of live (unexpired) elements.
func (s *Set) Len() int {
	if s.isList() {
		return s.listLen()
	}
	now := s.now()
	n := 0
	for i := range s.entries {
		e := &s.entries[i]
		if !e.live {
			continue
		}
		if s.Type == TypeBitmapIPMAC {
			if s.ipmacListed(e, now) {
				n++
			}
		} else if !s.expired(e, now) {
			n++
		}
	}
	return n
}

// MemSize is the kernel's "Size in memory".
func (s *Set) MemSize() int {
	if s.isBitmap() {
		return s.bmMemSize()
	}
	if s.isList() {
		return s.listMemSize()
	}
	base := 216
	switch s.Type {
	case TypeHashNet, TypeHashNetPort:
		base = 456
	case TypeHashIPPortNet:
		base = 464
	case TypeHashIPPortIP:
		base = 208
	case TypeHashNetIface:
		base = 488
	case TypeHashMAC:
		// struct htype without netmask, with an 8-byte next element
		// (the layout that gives hash:ip 216, hash:net 456 and
		// hash:net,iface 488, as measured).
		base = 200
	}
	if s.isV6() {
		base = memBase6(s.Type)
	}
	m := base + regionSize*(len(s.t.elems)-1) + s.commentB
	for _, x := range s.t.ext {
		m += x
	}
	return m
}

// Hashsize is the current hash table size.
func (s *Set) Hashsize() uint32 { return 1 << s.t.bits }

func ipString(ip uint32) string {
	b := make([]byte, 0, 15)
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(ip>>(8*i)&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	return string(b)
}

// MatchAt is the set match's test of one address at packet time now
// (Unix ns): the element's counters are updated unless update is false
// (! --update-counters). A two-dimensional set never matches one address.
// It does not allocate.
func (s *Set) MatchAt(ip uint32, pktLen uint64, now int64, update bool) bool {
	if s.hasPort() || s.Type == TypeBitmapPort {
		return false
	}
	return s.MatchCounters(ip, 0, 0, pktLen, now, update, CounterMatch{})
}

// Ports of the protocols ip_set_get_ip4_port reads a port from.
func protoWithPorts(p uint8) bool { return p == 6 || p == 17 || p == 132 || p == 136 }

// MatchPortAt is the set match's test of a two-dimensional element (or of
// bitmap:port's one dimension) at packet time now: ip is the address of
// the first direction (ignored by bitmap:port), proto the packet's
// protocol and port the port of the second direction (the first for
// bitmap:port) as ip_set_get_ip4_port gives it: the TCP/UDP/SCTP/UDPLITE
// port, type<<8|code for ICMP, 0 for other protocols. The caller must not
// call it for non-first fragments (the kernel's kadt fails on them, which
// is no match). bitmap:port matches TCP and UDP packets only. Counters are
// updated unless update is false. It does not allocate.
func (s *Set) MatchPortAt(ip uint32, proto uint8, port uint16, pktLen uint64, now int64, update bool) bool {
	return s.MatchCounters(ip, proto, port, pktLen, now, update, CounterMatch{})
}

// CounterMatch is the set match's --packets-* and --bytes-* comparisons
// (Op: 0 none, 1 eq, 2 ne, 3 lt, 4 gt; IPSET_COUNTER_*).
type CounterMatch struct {
	PacketsOp, BytesOp uint8
	Packets, Bytes     uint64
	// Skb, when set, receives the matching element's skbinfo
	// (ip_set_get_skbinfo, for the SET target's --map-set) in sets that
	// have the extension.
	Skb *SkbInfo
}

func counterOK(op uint8, v, want uint64) bool {
	switch op {
	case 1:
		return v == want
	case 2:
		return v != want
	case 3:
		return v < want
	case 4:
		return v > want
	}
	return true
}

// MatchCounters is MatchPortAt with counter comparisons, as
// ip_set_match_extensions does them: in a set with counters the element's
// counters are updated first (unless update is false), then compared; a
// failed comparison is no match. A set without counters ignores them.
func (s *Set) MatchCounters(ip uint32, proto uint8, port uint16, pktLen uint64, now int64, update bool, cm CounterMatch) bool {
	return s.MatchElem(ip, 0, proto, port, pktLen, now, update, cm)
}

// MatchElem is MatchCounters with the second address of the
// three-dimensional types (hash:ip,port,ip, hash:ip,port,net: ip2 is the
// address of the third direction; the other types ignore it). The caller
// must not call it with fewer directions than the set's type has (the
// kernel's ip_set_test: no match). It does not allocate.
func (s *Set) MatchElem(ip, ip2 uint32, proto uint8, port uint16, pktLen uint64, now int64, update bool, cm CounterMatch) bool {
	return s.MatchElemFlags(ip, ip2, proto, port, pktLen, now, update, cm, false)
}

// MatchElemFlags is MatchElem with --return-nomatch: for the types with
// nomatch elements the answer is inverted (ip_set_test), so that a
// nomatch element matches and a plain member does not.
func (s *Set) MatchElemFlags(ip, ip2 uint32, proto uint8, port uint16, pktLen uint64, now int64, update bool, cm CounterMatch, returnNomatch bool) bool {
	if s.isList() || s.Type == TypeBitmapIPMAC || s.isV6() {
		// the caller tests the members (MatchList), MatchIPMAC; an inet6
		// set never matches an IPv4 packet
		return false
	}
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	var i int32
	nomatch := false
	switch {
	case s.Type == TypeBitmapPort:
		if proto != 6 && proto != 17 {
			return false
		}
		i = s.lookupK(0, 0, port, now)
	case s.Type == TypeHashMAC:
		i = s.lookupK(ip, 0, port, now)
	case s.hasPort():
		if !protoWithPorts(proto) && proto != 1 {
			port = 0
		}
		k := elemKey{ip: ip, proto: proto, port: port}
		if s.hasIP2() {
			k.ip2 = ip2
		}
		i, nomatch = s.lookupNM(k, now)
	case s.Type == TypeBitmapIP:
		i = s.lookup(ip, now)
	default:
		i, nomatch = s.lookupNM(elemKey{ip: ip}, now)
	}
	if returnNomatch && s.isNet() {
		// -ENOTEMPTY becomes a match, a match becomes none (its
		// counters were still updated and compared, which decides
		// nothing now).
		if i >= 0 && s.Opts.Counters && update {
			e := &s.entries[i]
			atomic.AddUint64(&e.packets, 1)
			atomic.AddUint64(&e.bytes, pktLen)
		}
		return nomatch
	}
	if i < 0 {
		return false
	}
	if !s.Opts.Counters {
		s.copySkb(&s.entries[i].ext().skb, cm.Skb)
		return true
	}
	e := &s.entries[i]
	packets, bytes := atomic.LoadUint64(&e.packets), atomic.LoadUint64(&e.bytes)
	if update {
		packets = atomic.AddUint64(&e.packets, 1)
		bytes = atomic.AddUint64(&e.bytes, pktLen)
	}
	if !counterOK(cm.PacketsOp, packets, cm.Packets) || !counterOK(cm.BytesOp, bytes, cm.Bytes) {
		return false
	}
	s.copySkb(&e.ext().skb, cm.Skb)
	return true
}

// copySkb is ip_set_match_extensions' last step: a set with the skbinfo
// extension hands the matching element's to the caller.
func (s *Set) copySkb(from, to *SkbInfo) {
	if to != nil && s.Opts.SkbInfo {
		*to = *from
	}
}

// Dimension is the number of parts of the type's elements (the kernel's
// set->type->dimension): a set match or SET target with fewer directions
// never matches, adds or deletes.
func (s *Set) Dimension() int {
	switch {
	case s.hasIP2():
		return 3
	case s.Type == TypeHashIPPort || s.Type == TypeHashNetPort || s.Type == TypeBitmapIPMAC || s.Type == TypeHashNetIface:
		return 2
	}
	return 1
}
