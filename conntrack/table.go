package conntrack

import (
	"sync"
	"sync/atomic"
)

// Status bits of a connection (enum ip_conntrack_status).
const (
	StatusExpected     = 1 << 0
	StatusSeenReply    = 1 << 1
	StatusAssured      = 1 << 2
	StatusConfirmed    = 1 << 3
	StatusSrcNAT       = 1 << 4
	StatusDstNAT       = 1 << 5
	StatusSeqAdjust    = 1 << 6
	StatusSrcNATDone   = 1 << 7
	StatusDstNATDone   = 1 << 8
	StatusDying        = 1 << 9
	StatusFixedTimeout = 1 << 10
	StatusTemplate     = 1 << 11
	StatusUntracked    = 1 << 12
)

// CtInfo is what conntrack attaches to a packet (enum ip_conntrack_info),
// plus two outcomes of In that attach nothing.
type CtInfo uint8

const (
	Established      CtInfo = 0
	Related          CtInfo = 1
	New              CtInfo = 2
	EstablishedReply CtInfo = 3
	RelatedReply     CtInfo = 4
	Untracked        CtInfo = 7
	// Invalid: no entry is attached (the state match's INVALID).
	Invalid CtInfo = 8
	// Drop: nf_conntrack_in returned NF_DROP (table full and nothing
	// could be early-dropped, or a reopen raced with a deletion): the
	// packet is dropped before any rule sees it.
	Drop CtInfo = 9
)

// IsReply reports a packet travelling in the reply direction.
func (c CtInfo) IsReply() bool { return c == EstablishedReply || c == RelatedReply }

// StateBit is the xt_state / xt_conntrack --ctstate bit of the packet:
// INVALID 1, ESTABLISHED 2, RELATED 4, NEW 8, UNTRACKED 64
// (XT_STATE_BIT and friends).
func (c CtInfo) StateBit() uint32 {
	switch c {
	case Invalid, Drop:
		return 1
	case Untracked:
		return 1 << 6
	}
	return 1 << (uint32(c)%3 + 1)
}

var ctinfoNames = [...]string{"ESTABLISHED", "RELATED", "NEW", "ESTABLISHED_REPLY", "RELATED_REPLY", "", "", "UNTRACKED", "INVALID", "DROP"}

func (c CtInfo) String() string {
	if int(c) < len(ctinfoNames) {
		return ctinfoNames[c]
	}
	return "?"
}

type node struct {
	t    Tuple
	next *node
	ct   *Conn
	dir  Dir
}

// Conn is one connection tracking entry (struct nf_conn). Its fields are
// read through methods, safe for concurrent use.
type Conn struct {
	th      [2]node
	zone    uint16
	status  atomic.Uint32
	ecache  atomic.Uint32 // IPCT_* events cached for delivery (event.go)
	mark    atomic.Uint32
	timeout atomic.Int64 // absolute (ns) once confirmed; relative before
	bucket  [2]uint32
	hash    uint32 // hash of the original tuple, kept for Confirm
	table   *Table

	mu  sync.Mutex // protects the protocol state below
	tcp tcpState
	// UDP: end of the 2 s window after which a replied flow is a stream.
	udpStreamTS int64
	// GRE: the timeouts given at creation (ns).
	greTimeout, greStreamTimeout int64

	// Helpers and expectations: the helper attached at creation and its
	// state (under mu), the expecting master, the master's expectations
	// and their number per class (under the table's expectation lock),
	// and how many confirmed entries it is the master of (their
	// references show in use=).
	helper    *Helper
	ftp       *ftpState
	master    *Conn
	exps      *Expect
	expecting [4]uint8 // NF_CT_MAX_EXPECT_CLASSES
	children  atomic.Int32

	// srcMapped: NAT did a source manip (see MarkSourceMapped); set
	// before confirmation, read after.
	srcMapped bool
}

// Tuple returns the tuple of one direction.
func (c *Conn) Tuple(d Dir) Tuple { return c.th[d].t }

// Zone is the conntrack zone id.
func (c *Conn) Zone() uint16 { return c.zone }

// Proto is the layer 4 protocol number.
func (c *Conn) Proto() uint8 { return c.th[0].t.Proto }

// Status returns the IPS_* status bits.
func (c *Conn) Status() uint32 { return c.status.Load() }

// SetStatus sets status bits (the NAT core's IPS_*_NAT_DONE, say).
func (c *Conn) SetStatus(bits uint32) { c.status.Or(bits) }

// Confirmed reports an entry that is in the table.
func (c *Conn) Confirmed() bool { return c.status.Load()&StatusConfirmed != 0 }

// Mark is ct->mark (connmark).
func (c *Conn) Mark() uint32 { return c.mark.Load() }

// SetMark sets ct->mark (CONNMARK).
func (c *Conn) SetMark(m uint32) {
	if c.mark.Swap(m) != m && c.table != nil {
		c.table.cacheEvent(c, EventMark)
	}
}

// Expires is the time left in seconds at now (nf_ct_expires / HZ, as
// xt_conntrack --ctexpire and the listings see it); for an entry not yet
// confirmed, its full timeout.
func (c *Conn) Expires(now int64) uint32 {
	// The kernel counts in jiffies: a timeout set this jiffy still shows
	// in full. Time left is rounded up to the jiffy (the clock's phase
	// taken as zero), then truncated to seconds.
	j := (c.expiresNS(now) + jiffy - 1) / jiffy
	return uint32(j / hz)
}

// hz is CONFIG_HZ of the kernels nfgo follows (Debian's and this
// machine's: 250); jiffy is one tick in ns.
const (
	hz    = 250
	jiffy = 1e9 / hz
)

func (c *Conn) expiresNS(now int64) int64 {
	to := c.timeout.Load()
	if c.Confirmed() {
		to -= now
	}
	if to < 0 {
		return 0
	}
	return to
}

// Timeout is the absolute expiry time (Unix ns) of a confirmed entry.
func (c *Conn) Timeout() int64 { return c.timeout.Load() }

func (c *Conn) expired(now int64) bool {
	return c.timeout.Load()-now <= 0
}

// TCPState is the TCP tracking state (TCPNone... TCPSynSent2); 0 for
// other protocols.
func (c *Conn) TCPState() uint8 {
	if c.Proto() != protoTCP {
		return 0
	}
	c.mu.Lock()
	s := c.tcp.state
	c.mu.Unlock()
	return s
}

// refresh is nf_ct_refresh: a confirmed entry's timer is set to now+extra,
// an unconfirmed one's timeout is kept relative until Confirm.
func (c *Conn) refresh(now, extra int64) {
	if c.status.Load()&StatusFixedTimeout != 0 {
		return
	}
	if c.Confirmed() {
		extra += now
	}
	c.timeout.Store(extra)
}

const numLocks = 1024 // CONNTRACK_LOCKS

// Table is a connection tracking table (one network namespace's). It is
// safe for concurrent use.
type Table struct {
	// Events, when set before use, receives the entries' events
	// (event.go).
	Events EventFunc

	cfg     Config
	seed    uint64
	heads   []*node
	locks   [numLocks]sync.RWMutex
	count   atomic.Int64
	gcMu    sync.Mutex
	lastGC  int64
	timeout timeouts

	exp   *expectTable
	bysrc bySource

	// Stats, as /proc/net/stat/nf_conntrack counts them.
	StatInvalid, StatDrop, StatEarlyDrop, StatInsertFailed, StatClashResolve atomic.Uint64
	// Expectations created and fulfilled (expect_create, expect_new).
	StatExpectCreate, StatExpectNew atomic.Uint64
}

// timeouts are the configured timeouts in ns.
type timeouts struct {
	generic, udp, udpStream, icmp, gre, greStream int64
	tcp                                           [tcpTimeoutMax]int64
}

// NewTable makes an empty table with the given configuration.
func NewTable(cfg Config) *Table {
	if cfg.Buckets <= 0 {
		cfg.Buckets = 1024
	}
	cfg.fixup()
	t := &Table{cfg: cfg, seed: 0x6e66676f6374}
	t.heads = make([]*node, cfg.Buckets)
	t.exp = newExpectTable(cfg.Buckets, cfg.ExpectMax, t.seed)
	s := int64(1e9)
	t.timeout = timeouts{
		generic:   int64(cfg.GenericTimeout) * s,
		udp:       int64(cfg.UDPTimeout) * s,
		udpStream: int64(cfg.UDPTimeoutStream) * s,
		icmp:      int64(cfg.ICMPTimeout) * s,
		gre:       int64(cfg.GRETimeout) * s,
		greStream: int64(cfg.GRETimeoutStream) * s,
	}
	for i, v := range cfg.TCPTimeouts {
		t.timeout.tcp[i] = int64(v) * s
	}
	return t
}

// Config returns the table's configuration.
func (t *Table) Config() Config { return t.cfg }

// Count is the number of entries in the table (nf_conntrack_count),
// including expired ones not yet collected.
func (t *Table) Count() int { return int(t.count.Load()) }

// bucketOf is reciprocal_scale(hash, size).
func (t *Table) bucketOf(h uint32) uint32 {
	return uint32(uint64(h) * uint64(len(t.heads)) >> 32)
}

func (t *Table) lockOf(b uint32) *sync.RWMutex { return &t.locks[b%numLocks] }

// find looks a tuple up among confirmed entries (____nf_conntrack_find),
// skipping and then collecting expired entries.
func (t *Table) find(tp *Tuple, zone uint16, h uint32, now int64) (*Conn, Dir) {
	b := t.bucketOf(h)
	l := t.lockOf(b)
	var stale *Conn
	var found *Conn
	var dir Dir
	l.RLock()
	for n := t.heads[b]; n != nil; n = n.next {
		ct := n.ct
		if ct.expired(now) {
			if stale == nil {
				stale = ct
			}
			continue
		}
		if n.t == *tp && ct.zone == zone && ct.status.Load()&(StatusConfirmed|StatusDying) == StatusConfirmed {
			found, dir = ct, n.dir
			break
		}
	}
	l.RUnlock()
	if stale != nil {
		t.kill(stale, now)
	}
	return found, dir
}

// Find returns the confirmed, unexpired entry one of whose tuples is tp.
func (t *Table) Find(tp Tuple, zone uint16, now int64) (*Conn, Dir) {
	return t.find(&tp, zone, hashTuple(&tp, zone, t.seed), now)
}

// lock2 locks the stripes of two buckets in a fixed order.
func (t *Table) lock2(a, b uint32) (*sync.RWMutex, *sync.RWMutex) {
	la, lb := a%numLocks, b%numLocks
	if la == lb {
		t.locks[la].Lock()
		return &t.locks[la], nil
	}
	if la > lb {
		la, lb = lb, la
	}
	t.locks[la].Lock()
	t.locks[lb].Lock()
	return &t.locks[la], &t.locks[lb]
}

func unlock2(a, b *sync.RWMutex) {
	if b != nil {
		b.Unlock()
	}
	a.Unlock()
}

func (t *Table) unlink(n *node, b uint32) {
	for pp := &t.heads[b]; *pp != nil; pp = &(*pp).next {
		if *pp == n {
			*pp = n.next
			n.next = nil
			return
		}
	}
}

// kill removes an entry from the table (nf_ct_delete); false if it was
// already dying.
func (t *Table) kill(ct *Conn, now int64) bool {
	for {
		s := ct.status.Load()
		if s&StatusDying != 0 {
			return false
		}
		if ct.status.CompareAndSwap(s, s|StatusDying) {
			if s&StatusConfirmed == 0 {
				return true
			}
			break
		}
	}
	a, b := t.lock2(ct.bucket[0], ct.bucket[1])
	t.unlink(&ct.th[0], ct.bucket[0])
	t.unlink(&ct.th[1], ct.bucket[1])
	unlock2(a, b)
	t.count.Add(-1)
	if ct.srcMapped {
		t.removeBySource(ct)
	}
	t.removeExpectations(ct)
	if ct.master != nil {
		ct.master.children.Add(-1)
	}
	t.destroyed(ct, now)
	return true
}

// Delete removes an entry (conntrack -D) at time now.
func (t *Table) Delete(ct *Conn, now int64) bool { return t.kill(ct, now) }

// Flush removes every entry (conntrack -F) at time now.
func (t *Table) Flush(now int64) {
	var all []*Conn
	for b := range t.heads {
		l := t.lockOf(uint32(b))
		l.RLock()
		for n := t.heads[b]; n != nil; n = n.next {
			if n.dir == Original {
				all = append(all, n.ct)
			}
		}
		l.RUnlock()
	}
	for _, ct := range all {
		t.kill(ct, now)
	}
}

// GC removes every expired entry (the kernel's gc worker) and returns how
// many it removed.
func (t *Table) GC(now int64) int {
	t.gcMu.Lock()
	t.lastGC = now
	t.gcMu.Unlock()
	n := 0
	var batch []*Conn
	for b := range t.heads {
		l := t.lockOf(uint32(b))
		l.RLock()
		for nd := t.heads[b]; nd != nil; nd = nd.next {
			if nd.dir == Original && nd.ct.expired(now) && nd.ct.Confirmed() {
				batch = append(batch, nd.ct)
			}
		}
		l.RUnlock()
		for _, ct := range batch {
			if t.kill(ct, now) {
				n++
			}
		}
		batch = batch[:0]
	}
	return n
}

const evictionRange = 8 // NF_CT_EVICTION_RANGE

// earlyDrop is the kernel's early_drop: starting at the new tuple's
// bucket, look at up to 8 consecutive buckets and, in the first one that
// has any, delete every confirmed entry that is not ASSURED. Expired
// entries met on the way are collected but do not count as drops.
func (t *Table) earlyDrop(h uint32, now int64) bool {
	b := t.bucketOf(h)
	var victims []*Conn
	for i := 0; i < evictionRange; i++ {
		if i > 0 {
			b = (b + 1) % uint32(len(t.heads))
		}
		victims = victims[:0]
		var stale []*Conn
		l := t.lockOf(b)
		l.RLock()
		for n := t.heads[b]; n != nil; n = n.next {
			ct := n.ct
			if ct.expired(now) {
				stale = append(stale, ct)
				continue
			}
			s := ct.status.Load()
			if s&(StatusAssured|StatusDying) != 0 || s&StatusConfirmed == 0 {
				continue
			}
			victims = append(victims, ct)
		}
		l.RUnlock()
		for _, ct := range stale {
			t.kill(ct, now)
		}
		drops := 0
		for _, ct := range victims {
			if t.kill(ct, now) {
				drops++
			}
		}
		if drops > 0 {
			t.StatEarlyDrop.Add(uint64(drops))
			return true
		}
	}
	return false
}

// alloc is __nf_conntrack_alloc's admission check: with the table full,
// try early drop, else refuse ("nf_conntrack: table full, dropping
// packet"). Expired entries count until collected; the kernel's gc worker
// runs at least once a second under pressure, so a full table is swept
// here at most once per second of the injected clock.
func (t *Table) admit(h uint32, now int64) bool {
	max := int64(t.cfg.Max)
	if max == 0 || t.count.Load()+1 <= max {
		return true
	}
	t.gcMu.Lock()
	sweep := now-t.lastGC >= 1e9
	t.gcMu.Unlock()
	if sweep {
		t.GC(now)
		if t.count.Load()+1 <= max {
			return true
		}
	}
	return t.earlyDrop(h, now)
}

// newConn makes an unconfirmed entry for tuple (init_conntrack).
func (t *Table) newConn(tp *Tuple, repl *Tuple, zone uint16, h uint32) *Conn {
	ct := &Conn{zone: zone, hash: h, table: t}
	ct.th[0] = node{t: *tp, ct: ct, dir: Original}
	ct.th[1] = node{t: *repl, ct: ct, dir: Reply}
	return ct
}

// Confirm is nf_conntrack_confirm, called with the entry and ctinfo In
// gave the packet when the packet leaves POSTROUTING or INPUT: an
// unconfirmed entry goes into the table, its timeout starting now. It
// returns the entry the packet carries from now on (another one when a
// concurrent duplicate was merged) and false when the kernel would drop
// the packet (its tuple clashed with an entry it cannot merge with).
// Entries already confirmed, nil, and packets in the reply direction are
// accepted unchanged. An entry never confirmed (its packet dropped) simply
// vanishes.
func (t *Table) Confirm(ct *Conn, ci CtInfo, now int64) (*Conn, bool) {
	if ct == nil || ci.IsReply() || ct.Confirmed() {
		t.deliver(ct, now)
		return ct, true
	}
	if ct.status.Load()&StatusDying != 0 {
		t.StatInsertFailed.Add(1)
		return nil, false
	}
	hr := hashTuple(&ct.th[1].t, ct.zone, t.seed)
	bo, br := t.bucketOf(ct.hash), t.bucketOf(hr)
	la, lb := t.lock2(bo, br)
	var clash *Conn
	for n := t.heads[bo]; n != nil && clash == nil; n = n.next {
		if n.t == ct.th[0].t && n.ct.zone == ct.zone && n.ct.Confirmed() {
			clash = n.ct
		}
	}
	for n := t.heads[br]; n != nil && clash == nil; n = n.next {
		if n.t == ct.th[1].t && n.ct.zone == ct.zone && n.ct.Confirmed() {
			clash = n.ct
		}
	}
	if clash != nil {
		unlock2(la, lb)
		return t.resolveClash(ct, clash)
	}
	ct.timeout.Add(now)
	ct.bucket = [2]uint32{bo, br}
	ct.th[0].next = t.heads[bo]
	t.heads[bo] = &ct.th[0]
	ct.th[1].next = t.heads[br]
	t.heads[br] = &ct.th[1]
	ct.status.Or(StatusConfirmed)
	t.count.Add(1)
	unlock2(la, lb)
	if ct.srcMapped {
		t.addBySource(ct)
	}
	if ct.master != nil {
		ct.master.children.Add(1)
	}
	if ct.helper != nil {
		t.cacheEvent(ct, EventHelper)
	}
	if ct.master != nil {
		t.cacheEvent(ct, EventRelated)
	} else {
		t.cacheEvent(ct, EventNew)
	}
	t.deliver(ct, now)
	return ct, true
}

// resolveClash is nf_ct_resolve_clash for entries without NAT: UDP and
// generic entries (allow_clash) whose tuples equal the winner's, either
// way round, take the winner's place; anything else is dropped.
func (t *Table) resolveClash(loser, winner *Conn) (*Conn, bool) {
	p := loser.Proto()
	allow := p == protoUDP || (p != protoTCP && p != protoICMP && p != protoGRE)
	if allow && winner.zone == loser.zone &&
		((winner.th[0].t == loser.th[0].t && winner.th[1].t == loser.th[1].t) ||
			(winner.th[0].t == loser.th[1].t && winner.th[1].t == loser.th[0].t)) {
		t.StatClashResolve.Add(1)
		return winner, true
	}
	t.StatDrop.Add(1)
	t.StatInsertFailed.Add(1)
	return nil, false
}

// Each calls f for every confirmed, unexpired entry, in bucket order (the
// order of /proc/net/nf_conntrack and of a conntrack -L dump).
func (t *Table) Each(now int64, f func(*Conn)) {
	var batch []*Conn
	for b := range t.heads {
		l := t.lockOf(uint32(b))
		l.RLock()
		for n := t.heads[b]; n != nil; n = n.next {
			if n.dir == Original && !n.ct.expired(now) {
				batch = append(batch, n.ct)
			}
		}
		l.RUnlock()
		for _, ct := range batch {
			f(ct)
		}
		batch = batch[:0]
	}
}
