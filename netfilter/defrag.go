package netfilter

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/xt"
)

// IPv4 reassembly as the kernel does it (net/ipv4/ip_fragment.c and
// inet_fragment.c): one queue per (source, destination, ID, protocol,
// user), fragments kept in runs of contiguous fragments, overlaps killing
// the whole queue and duplicates dropping only the fragment, a timeout
// counted from the queue's creation, a memory limit over all queues and
// the per-source distance check (ipfrag_max_dist).
//
// Users (the kernel's enum ip_defrag_users): nf_defrag_ipv4 at PREROUTING
// (IP_DEFRAG_CONNTRACK_IN, zone 0) and OUTPUT (IP_DEFRAG_CONNTRACK_OUT)
// when the ruleset enables connection tracking, and ip_local_deliver
// (IP_DEFRAG_LOCAL_DELIVER) for fragments addressed to the host. Queues of
// different users never mix.

type fragUser uint8

const (
	userLocalDeliver fragUser = iota
	userCTIn
	userCTOut
)

// Kernel defaults (ipv4_frags_init_net).
const (
	// DefaultFragTimeout is net.ipv4.ipfrag_time (30 s), in ns.
	DefaultFragTimeout = 30 * int64(1e9)
	// DefaultFragHighThresh is net.ipv4.ipfrag_high_thresh (4 MiB).
	DefaultFragHighThresh = 4 * 1024 * 1024
	// DefaultFragMaxDist is net.ipv4.ipfrag_max_dist.
	DefaultFragMaxDist = 64
)

// Memory accounting: the kernel charges each queue's size and each queued
// skb's truesize, which depends on the driver's buffers; nfgo charges a
// fixed overhead plus the fragment's length. The 4 MiB limit is therefore
// reached after about as many fragments as in the kernel, not exactly.
const (
	fragQueueSize   = 256 // sizeof(struct ipq), roughly
	fragSkbOverhead = 768 // SKB_TRUESIZE's sk_buff and shared info, roughly
)

type fragKey struct {
	src, dst uint32
	id       uint16
	proto    uint8
	user     fragUser
}

// qfrag is one queued fragment: its payload (trimmed to end-off).
type qfrag struct {
	off, end int
	data     []byte
}

type fragRun struct{ off, end int }

type fragQueue struct {
	key      fragKey
	deadline int64 // ns: creation (or reinit) + timeout
	frags    []qfrag
	runs     []fragRun
	tailEnd  int  // end of fragments_tail; -1 when none
	length   int  // q->len: end of the datagram as known so far
	meat     int  // bytes queued
	firstIn  bool // INET_FRAG_FIRST_IN
	lastIn   bool // INET_FRAG_LAST_IN
	ecn      uint8
	maxSize  int    // largest fragment (header + trimmed payload)
	maxDF    int    // largest fragment with DF
	head     []byte // the offset-0 fragment: header and trimmed payload
	mac      []byte // its link-layer header
	iif      string // device of the last fragment queued
	rid      uint32 // the source's fragment counter at the last fragment
	mem      int
}

type fragPeer struct {
	rid  uint32
	refs int
}

// defragState is the host's set of fragment queues (net->ipv4.fqdir).
type defragState struct {
	mu     sync.Mutex
	queues map[fragKey]*fragQueue
	peers  map[uint32]*fragPeer // inet_peer's rid, per source
	mem    int
	// next is the earliest deadline of any queue, 0 when there is none
	// (read without the lock on every packet).
	next       atomic.Int64
	timeout    int64
	highThresh int
	maxDist    int
}

// fragInfo is what the reassembled packet carries for output
// (IPCB(skb)->frag_max_size, IPSKB_FRAG_PMTU, ignore_df and the
// frag_list of the original fragments).
type fragInfo struct {
	reassembled bool
	maxSize     int    // frag_max_size
	pmtu        bool   // IPSKB_FRAG_PMTU: refragment with DF
	ignoreDF    bool   // skb->ignore_df (set by nf_defrag)
	sizes       []int  // payload lengths of the original fragments (the frag_list); nil if coalesced
	mac         []byte // the link-layer header of the offset-0 fragment
}

// fragResult of queueing one fragment.
type fragResult uint8

const (
	fragHeld     fragResult = iota // queued, datagram incomplete
	fragComplete                   // reassembled
	fragDropped                    // the fragment (and maybe its queue) discarded
)

func (d *defragState) init(s *Stack) {
	if d.queues != nil {
		return
	}
	d.queues = map[fragKey]*fragQueue{}
	d.peers = map[uint32]*fragPeer{}
	d.timeout = s.FragTimeout
	if d.timeout <= 0 {
		d.timeout = DefaultFragTimeout
	}
	d.highThresh = s.FragHighThresh
	if d.highThresh == 0 {
		d.highThresh = DefaultFragHighThresh
	}
	d.maxDist = s.FragMaxDist
	if d.maxDist == 0 {
		d.maxDist = DefaultFragMaxDist
	}
}

// kill removes a queue (inet_frag_kill and the release of its fragments).
func (d *defragState) kill(q *fragQueue) {
	if d.queues[q.key] != q {
		return
	}
	delete(d.queues, q.key)
	d.mem -= q.mem + fragQueueSize
	if pe := d.peers[q.key.src]; pe != nil {
		if pe.refs--; pe.refs <= 0 {
			delete(d.peers, q.key.src)
		}
	}
}

// expired removes the queues whose timer has run out at now and returns
// them (ip_expire).
func (d *defragState) expired(now int64) []*fragQueue {
	if n := d.next.Load(); n == 0 || now < n {
		return nil
	}
	var out []*fragQueue
	d.next.Store(0)
	for _, q := range d.queues {
		if now >= q.deadline {
			out = append(out, q)
			continue
		}
		d.armExpiry(q.deadline)
	}
	for _, q := range out {
		d.kill(q)
	}
	// Deterministic order: by deadline, then key.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].deadline < out[j-1].deadline; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (d *defragState) armExpiry(t int64) {
	if n := d.next.Load(); n == 0 || t < n {
		d.next.Store(t)
	}
}

// add queues fragment b (a decoded IPv4 fragment, trimmed to its total
// length) for user, received at now on device dev with link header mac.
// On fragComplete it returns the reassembled packet.
func (d *defragState) add(b []byte, user fragUser, now int64, dev string, mac []byte) (fragResult, []byte, fragInfo, string) {
	var fi fragInfo
	if d.highThresh < 0 || d.mem > d.highThresh {
		return fragDropped, nil, fi, "reassembly memory exhausted"
	}
	ihl := int(b[0]&0x0F) * 4
	key := fragKey{
		src:   binary.BigEndian.Uint32(b[12:16]),
		dst:   binary.BigEndian.Uint32(b[16:20]),
		id:    binary.BigEndian.Uint16(b[4:6]),
		proto: b[9],
		user:  user,
	}
	q := d.queues[key]
	if q == nil {
		q = &fragQueue{key: key, deadline: now + d.timeout, tailEnd: -1}
		d.queues[key] = q
		d.mem += fragQueueSize
		d.armExpiry(q.deadline)
		pe := d.peers[key.src]
		if pe == nil {
			pe = &fragPeer{}
			d.peers[key.src] = pe
		}
		pe.refs++
	}

	// ip_frag_too_far: more than ipfrag_max_dist fragments from this
	// source queued (in any queue) since this queue's previous fragment:
	// the queue starts over, or dies if its timer has run out.
	if d.maxDist > 0 {
		pe := d.peers[key.src]
		start := q.rid
		pe.rid++
		q.rid = pe.rid
		if q.tailEnd >= 0 && int64(q.rid-start) > int64(d.maxDist) {
			if now >= q.deadline {
				d.kill(q)
				return fragDropped, nil, fi, "reassembly timed out"
			}
			d.mem -= q.mem
			q.mem = 0
			q.frags, q.runs, q.tailEnd = nil, nil, -1
			q.firstIn, q.lastIn, q.length, q.meat = false, false, 0, 0
			q.iif, q.ecn, q.head, q.mac = "", 0, nil, nil
			q.deadline = now + d.timeout
			d.armExpiry(q.deadline)
		}
	}

	tos := b[1]
	ecn := uint8(1) << (tos & 3)
	fo := binary.BigEndian.Uint16(b[6:8])
	off := int(fo&packet.OffsetMask) * 8
	end := off + len(b) - ihl
	if fo&packet.FlagMF == 0 {
		// The last fragment: nothing may lie beyond it, and a second
		// last fragment must agree.
		if end < q.length || (q.lastIn && end != q.length) {
			d.kill(q)
			return fragDropped, nil, fi, "fragment beyond the datagram's end"
		}
		q.lastIn = true
		q.length = end
	} else {
		end &^= 7
		if end > q.length {
			if q.lastIn {
				d.kill(q)
				return fragDropped, nil, fi, "fragment beyond the datagram's end"
			}
			q.length = end
		}
	}
	if end == off {
		d.kill(q)
		return fragDropped, nil, fi, "empty fragment"
	}
	payload := b[ihl : ihl+end-off]

	switch q.insert(off, end) {
	case insDup:
		return fragDropped, nil, fi, "duplicate fragment"
	case insOverlap:
		d.kill(q)
		return fragDropped, nil, fi, "overlapping fragment"
	}
	f := &q.frags[q.fragIndex(off)]
	f.data = append([]byte(nil), payload...)
	q.iif = dev
	q.meat += end - off
	q.ecn |= ecn
	truesize := fragSkbOverhead + len(b)
	q.mem += truesize
	d.mem += truesize
	if off == 0 {
		q.firstIn = true
		q.head = append([]byte(nil), b[:ihl+end-off]...)
		q.mac = append([]byte(nil), mac...)
	}
	size := end - off + ihl
	if size > q.maxSize {
		q.maxSize = size
	}
	if fo&packet.FlagDF != 0 && size > q.maxDF {
		q.maxDF = size
	}
	if !(q.firstIn && q.lastIn && q.meat == q.length) {
		return fragHeld, nil, fi, ""
	}
	// ip_frag_reasm.
	d.kill(q)
	ecnOut := fragECNTable[q.ecn&0x0F]
	if ecnOut == 0xFF {
		return fragDropped, nil, fi, "ECN mismatch between fragments"
	}
	hihl := int(q.head[0]&0x0F) * 4
	total := hihl + q.length
	if total > 65535 {
		return fragDropped, nil, fi, "reassembled datagram over 64 KiB"
	}
	out := make([]byte, total)
	copy(out, q.head[:hihl])
	pos := hihl
	sizes := make([]int, 0, len(q.frags))
	for i := range q.frags {
		pos += copy(out[pos:], q.frags[i].data)
		sizes = append(sizes, len(q.frags[i].data))
	}
	binary.BigEndian.PutUint16(out[2:], uint16(total))
	out[1] |= ecnOut
	fi = fragInfo{reassembled: true, maxSize: q.maxSize, sizes: sizes, mac: q.mac}
	if q.maxDF > q.maxSize {
		fi.maxSize = q.maxDF
	}
	if q.maxDF == q.maxSize {
		fi.pmtu = true
		binary.BigEndian.PutUint16(out[6:], packet.FlagDF)
	} else {
		binary.BigEndian.PutUint16(out[6:], 0)
	}
	if user == userLocalDeliver {
		fi.sizes = nil // coalesced: no frag_list to keep
	} else {
		fi.ignoreDF = true // nf_ct_ipv4_gather_frags
	}
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:], packet.Checksum16(out[:hihl], 0))
	return fragComplete, out, fi, ""
}

// fragECNTable is ip_frag_ecn_table, indexed by the OR of 1<<(tos&3) of
// all fragments (NOT_ECT 1, ECT_1 2, ECT_0 4, CE 8).
var fragECNTable = [16]uint8{
	8 | 4:     3,
	8 | 2:     3,
	8 | 4 | 2: 3,

	1 | 8:         0xFF,
	1 | 4:         0xFF,
	1 | 2:         0xFF,
	1 | 4 | 2:     0xFF,
	1 | 8 | 4:     0xFF,
	1 | 8 | 2:     0xFF,
	1 | 8 | 4 | 2: 0xFF,
}

type insResult uint8

const (
	insOK insResult = iota
	insDup
	insOverlap
)

// insert is inet_frag_queue_insert: a fragment past the tail goes to the
// end (overlapping the tail is an overlap; adjacent, it extends the last
// run); otherwise it must fall in a gap between runs (inside a run it is
// a duplicate, straddling one an overlap) and starts a run of its own.
func (q *fragQueue) insert(off, end int) insResult {
	nf := qfrag{off: off, end: end}
	switch {
	case q.tailEnd < 0:
		q.runs = append(q.runs, fragRun{off, end})
		q.frags = append(q.frags, nf)
		q.tailEnd = end
		return insOK
	case q.tailEnd < end:
		if off < q.tailEnd {
			return insOverlap
		}
		if off == q.tailEnd {
			q.runs[len(q.runs)-1].end = end
		} else {
			q.runs = append(q.runs, fragRun{off, end})
		}
		q.frags = append(q.frags, nf)
		q.tailEnd = end
		return insOK
	}
	// The first run ending after off.
	lo, hi := 0, len(q.runs)
	for lo < hi {
		m := (lo + hi) / 2
		if q.runs[m].end > off {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo < len(q.runs) && q.runs[lo].off < end {
		if off >= q.runs[lo].off && end <= q.runs[lo].end {
			return insDup
		}
		return insOverlap
	}
	q.runs = append(q.runs, fragRun{})
	copy(q.runs[lo+1:], q.runs[lo:])
	q.runs[lo] = fragRun{off, end}
	i := q.fragIndex(off)
	q.frags = append(q.frags, qfrag{})
	copy(q.frags[i+1:], q.frags[i:])
	q.frags[i] = nf
	return insOK
}

// fragIndex is the position of the first fragment at or after off.
func (q *fragQueue) fragIndex(off int) int {
	lo, hi := 0, len(q.frags)
	for lo < hi {
		m := (lo + hi) / 2
		if q.frags[m].off >= off {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// fragmentOut is ip_fragment / ip_do_fragment for a packet leaving
// through a device of the given MTU. It returns the fragments (nil when
// the packet leaves whole) or, with needFrag, that it must be dropped
// with an ICMP "fragmentation needed" (DF set and too big).
func fragmentOut(b []byte, mtu int, fi *fragInfo) (frags [][]byte, needFrag bool) {
	if mtu <= 0 {
		mtu = 65535
	}
	if len(b) <= mtu && fi.maxSize == 0 {
		return nil, false
	}
	fo := binary.BigEndian.Uint16(b[6:8])
	if fo&packet.FlagDF != 0 && (!fi.ignoreDF || (fi.maxSize != 0 && fi.maxSize > mtu)) {
		return nil, true
	}
	if fi.maxSize != 0 && fi.maxSize < mtu {
		mtu = fi.maxSize
	}
	hlen := int(b[0]&0x0F) * 4
	room := mtu - hlen
	// The fast path: the original fragments' frag_list, if each fits.
	if len(fi.sizes) > 0 && fo&(packet.FlagMF|packet.OffsetMask) == 0 {
		ok := true
		for i, n := range fi.sizes {
			if n > room || (n&7 != 0 && i < len(fi.sizes)-1) {
				ok = false
				break
			}
		}
		if ok {
			out := make([][]byte, 0, len(fi.sizes))
			pos, off := hlen, 0
			for i, n := range fi.sizes {
				// ip_fraglist_init / _prepare: no DF, MF on all but
				// the last.
				f := fragHeader(b[:hlen], off, n, i < len(fi.sizes)-1, false, i > 0)
				f = append(f, b[pos:pos+n]...)
				out = append(out, f)
				pos += n
				off += n
			}
			return out, false
		}
	}
	// The slow path: copy out blocks of at most room bytes, 8-aligned
	// except the last.
	if room < 8 {
		return nil, true
	}
	left := len(b) - hlen
	pos := hlen
	off := int(fo&packet.OffsetMask) * 8
	notLast := fo&packet.FlagMF != 0
	var out [][]byte
	first := true
	for left > 0 {
		n := left
		if n > room {
			n = room
		}
		if n < left {
			n &^= 7
		}
		left -= n
		f := fragHeader(b[:hlen], off, n, left > 0 || notLast, fi.pmtu, !first || off != 0)
		f = append(f, b[pos:pos+n]...)
		out = append(out, f)
		pos += n
		off += n
		first = false
	}
	return out, false
}

// fragHeader is a fragment's header: hdr's copy with the offset, flags
// and length set, options that are not copied into later fragments
// replaced by NOPs (ip_options_fragment), and the checksum.
func fragHeader(hdr []byte, off, n int, mf, df, later bool) []byte {
	f := make([]byte, len(hdr), len(hdr)+n)
	copy(f, hdr)
	v := uint16(off>>3) & packet.OffsetMask
	if mf {
		v |= packet.FlagMF
	}
	if df {
		v |= packet.FlagDF
	}
	binary.BigEndian.PutUint16(f[6:], v)
	binary.BigEndian.PutUint16(f[2:], uint16(len(hdr)+n))
	if later {
		optionsFragment(f[20:])
	}
	f[10], f[11] = 0, 0
	binary.BigEndian.PutUint16(f[10:], packet.Checksum16(f, 0))
	return f
}

// optionsFragment is ip_options_fragment.
func optionsFragment(opt []byte) {
	for i := 0; i < len(opt); {
		switch opt[i] {
		case 0: // IPOPT_END
			return
		case 1: // IPOPT_NOOP
			i++
			continue
		}
		if i+1 >= len(opt) {
			return
		}
		l := int(opt[i+1])
		if l < 2 || l > len(opt)-i {
			return
		}
		if opt[i]&0x80 == 0 {
			for j := i; j < i+l; j++ {
				opt[j] = 1
			}
		}
		i += l
	}
}

// icmpError builds the ICMP error (type, code, 32-bit info) the host sends
// from saddr about packet b, as icmp_send does: TOS bits of the offending
// packet with precedence "internetwork control", no DF, TTL 64, the IP
// ID left 0 (the kernel's is a hashed per-destination counter), and at most
// 576 - 28 bytes of the offending packet quoted.
func icmpError(b []byte, typ, code uint8, info uint32, saddr uint32) []byte {
	n := len(b)
	if n > 576-20-8 {
		n = 576 - 20 - 8
	}
	r := make([]byte, 28+n)
	r[0] = 0x45
	r[1] = b[1]&0x1E | 0xC0
	binary.BigEndian.PutUint16(r[2:], uint16(len(r)))
	r[8] = 64
	r[9] = packet.ProtoICMP
	binary.BigEndian.PutUint32(r[12:], saddr)
	copy(r[16:20], b[12:16])
	binary.BigEndian.PutUint16(r[10:], packet.Checksum16(r[:20], 0))
	r[20], r[21] = typ, code
	binary.BigEndian.PutUint32(r[24:], info)
	copy(r[28:], b[:n])
	binary.BigEndian.PutUint16(r[22:], packet.Checksum16(r[20:], 0))
	return r
}

// icmpErrorAllowed is icmp_send's refusal list: no errors about ICMP
// errors (or truncated ICMP), non-first fragments, or broadcast and
// multicast destinations.
func icmpErrorAllowed(b []byte) bool {
	ihl := int(b[0]&0x0F) * 4
	if binary.BigEndian.Uint16(b[6:8])&packet.OffsetMask != 0 {
		return false
	}
	dst := binary.BigEndian.Uint32(b[16:20])
	if dst>>28 == 0xE || dst == 0xFFFFFFFF {
		return false
	}
	if b[9] == packet.ProtoICMP {
		if len(b) <= ihl {
			return false
		}
		switch b[ihl] {
		case 0, 8, 13, 14, 15, 16, 17, 18:
		default:
			return false
		}
	}
	return true
}

// defrag queues fragment p for user. It returns true when p now holds the
// reassembled datagram (fi describes it); false when the fragment was held
// or dropped (o says which).
func (s *Stack) defrag(p *xt.Pkt, user fragUser, dev string, o *Outcome, fi *fragInfo) bool {
	s.frag.mu.Lock()
	s.frag.init(s)
	res, whole, info, why := s.frag.add(p.B, user, p.Time, dev, p.MAC)
	s.frag.mu.Unlock()
	switch res {
	case fragHeld:
		o.Held = true
		o.Verdict, o.Drop = xt.VerdictDrop, "held for reassembly"
		return false
	case fragDropped:
		o.Verdict, o.Drop = xt.VerdictDrop, why
		return false
	}
	if err := p.Parsed.Decode(whole); err != nil {
		o.Verdict, o.Drop = xt.VerdictDrop, "malformed"
		return false
	}
	if user != userCTOut {
		// The datagram is the offset-0 fragment's skb grown
		// (skb_morph): its link-layer header is that fragment's.
		p.MAC = info.mac
	}
	*fi = info
	o.Reassembled = true
	return true
}

// Expire drops the fragment queues whose time (FragTimeout from their
// first fragment) has run out at now, as the kernel's ip_expire timers do,
// and sends the ICMP "fragment reassembly time exceeded" errors the kernel
// sends for them through OUTPUT and POSTROUTING (ev hears their LOG
// lines). Receive and Send call it with each packet's time; call it
// directly to advance the clock without a packet.
func (s *Stack) Expire(now int64, ev xt.Events) []Emitted {
	return s.expire(now, ev, nil)
}

func (s *Stack) expire(now int64, ev xt.Events, out []Emitted) []Emitted {
	if n := s.frag.next.Load(); n == 0 || now < n {
		return out
	}
	s.frag.mu.Lock()
	qs := s.frag.expired(now)
	s.frag.mu.Unlock()
	for _, q := range qs {
		b := s.expiryICMP(q)
		if b == nil {
			continue
		}
		r := &xt.Pkt{Events: ev, Env: s.Env, Time: q.deadline}
		if r.Decode(b) != nil {
			continue
		}
		so := s.Send(r)
		out = append(out, Emitted{Packet: r.B, Outcome: &so})
	}
	return out
}

// expiryICMP is ip_expire's error: only when the offset-0 fragment
// arrived, never for OUTPUT's queues (their fragments had no input device),
// and for PREROUTING's conntrack queues only if the datagram was addressed
// to the host ("only an end host needs to send" it); icmp_send's own
// refusals apply. ICMP rate limiting is not applied to these errors.
func (s *Stack) expiryICMP(q *fragQueue) []byte {
	if !q.firstIn || q.head == nil || q.key.user == userCTOut {
		return nil
	}
	if !s.Host.IsLocal(addr4(q.key.dst)) {
		return nil
	}
	if len(q.mac) >= 6 && q.mac[0]&1 != 0 {
		return nil // PACKET_BROADCAST / PACKET_MULTICAST
	}
	if !icmpErrorAllowed(q.head) {
		return nil
	}
	return icmpError(q.head, 11, 1, 0, q.key.dst)
}

// mtu is the device's MTU (65535 when unknown).
func (s *Stack) mtu(dev string) int {
	if ifc := s.Host.Iface(dev); ifc != nil && ifc.MTU > 0 {
		return ifc.MTU
	}
	return 65535
}

// exceedsMTU is ip_exceeds_mtu.
func exceedsMTU(p *xt.Pkt, mtu int, fi *fragInfo) bool {
	// A GSO packet's segments are what must fit.
	if p.SegmentLen() <= mtu || p.FragOff&packet.FlagDF == 0 {
		return false
	}
	if fi.maxSize > mtu {
		return true
	}
	return !fi.ignoreDF
}

// fragNeeded drops a forwarded packet too big for the route with DF set,
// sending the ICMP "fragmentation needed" (with the MTU) to its source.
func (s *Stack) fragNeeded(p *xt.Pkt, mtu int, local bool, o *Outcome) {
	o.Verdict, o.Drop = xt.VerdictDrop, "fragmentation needed"
	if !icmpErrorAllowed(p.B) || (p.InEther && len(p.MAC) >= 6 && p.MAC[0]&1 != 0) {
		return
	}
	saddr := p.Dst
	if !local {
		if p.Env == nil || p.Env.RouteSrc == nil {
			return
		}
		src, ok := p.Env.RouteSrc(p.Src)
		if !ok {
			return
		}
		saddr = src
	}
	b := icmpError(p.B, 3, 4, uint32(mtu), saddr)
	r := &xt.Pkt{Events: p.Events, Explain: p.Explain, Env: p.Env, Time: p.Time}
	if r.Decode(b) != nil {
		return
	}
	so := s.Send(r)
	o.Emitted = append(o.Emitted, Emitted{Packet: r.B, Outcome: &so})
}
