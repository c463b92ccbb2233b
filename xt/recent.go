package xt

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// recent: -m recent [!] --set|--rcheck|--update|--remove [--seconds N]
// [--reap] [--hitcount N] [--rttl] [--name NAME] [--rsource|--rdest]
// [--mask MASK] (libxt_recent revision 1, struct xt_recent_mtinfo_v1).

var recentMatch = Def{
	Name:     "recent",
	Kind:     KindMatch,
	Revision: 1,
	// Option order is the C option ids (the x6 checks walk them in order);
	// exclusions and requirements are checked in Final, after the
	// extension's own check as libxtables does.
	Options: []Option{
		{Name: "set", Flags: OptInvert},
		{Name: "rcheck", Flags: OptInvert},
		{Name: "update", Flags: OptInvert},
		{Name: "remove", Flags: OptInvert},
		{Name: "seconds", Arg: true},
		{Name: "reap"},
		{Name: "hitcount", Arg: true},
		{Name: "rttl"},
		{Name: "name", Arg: true},
		{Name: "rsource"},
		{Name: "rdest"},
		{Name: "mask", Arg: true},
	},
	New: func() Ext { return &Recent{Name: "DEFAULT", Side: RecentSource, Mask: 0xFFFFFFFF} },
}

// Recent check_set bits and sides (XT_RECENT_*).
const (
	RecentCheck  = 1 << 0
	RecentSet    = 1 << 1
	RecentUpdate = 1 << 2
	RecentRemove = 1 << 3
	RecentTTL    = 1 << 4
	RecentReap   = 1 << 5

	RecentSource = 0
	RecentDest   = 1

	recentNameLen   = 200   // XT_RECENT_NAME_LEN
	recentMaxStamps = 65536 // the kernel's XT_RECENT_MAX_NSTAMPS
)

// Recent is struct xt_recent_mtinfo_v1.
type Recent struct {
	Seconds  uint32
	HitCount uint32
	CheckSet uint8
	Invert   bool
	Name     string
	Side     uint8
	Mask     IPv4

	xflags uint32

	// tbl is the named list the rule is bound to (see Bind).
	tbl atomic.Pointer[recentList]
}

// x6Entry is one row of a C x6 option table for the generic final checks:
// the ids (bit numbers) an option excludes and requires.
type x6Entry struct {
	name       string
	excl, also uint32
}

// x6Fcheck is xtables_options_fcheck over a table indexed by option id,
// for extensions whose own final check must run first.
func x6Fcheck(ext string, table []x6Entry, mand uint32, xflags uint32) error {
	for id, e := range table {
		if e.name == "" {
			continue
		}
		if mand&(1<<uint(id)) != 0 && xflags&(1<<uint(id)) == 0 {
			return Errorf("%s: option \"--%s\" must be specified\n", ext, e.name)
		}
		if xflags&(1<<uint(id)) == 0 {
			continue
		}
		for i, other := range table {
			if i == id || other.name == "" {
				continue
			}
			if e.also&(1<<uint(i)) != 0 && xflags&(1<<uint(i)) == 0 {
				return Errorf("%s: option \"--%s\" also requires \"--%s\".\n", ext, e.name, other.name)
			}
			if e.excl&(1<<uint(i)) != 0 && xflags&(1<<uint(i)) != 0 {
				return Errorf("%s: option \"--%s\" cannot be used together with \"--%s\".\n", ext, e.name, other.name)
			}
		}
	}
	return nil
}

// x6String is xtopt_parse_string's length handling for a char[size] field.
func x6String(arg string, size int) string {
	if len(arg) >= size {
		return arg[:size-1]
	}
	return arg
}

const recentAnyOp = 1<<0 | 1<<1 | 1<<2 | 1<<3

var recentTable = []x6Entry{
	{name: "set", excl: recentAnyOp},
	{name: "rcheck", excl: recentAnyOp},
	{name: "update", excl: recentAnyOp},
	{name: "remove", excl: recentAnyOp},
	{name: "seconds"},
	{name: "reap", also: 1 << 4},
	{name: "hitcount"},
	{name: "rttl", excl: 1<<0 | 1<<3},
	{name: "name"},
	{name: "rsource"},
	{name: "rdest"},
	{name: "mask"},
}

func (r *Recent) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	id := 0
	for i, e := range recentTable {
		if e.name == o.Name {
			id = i
		}
	}
	switch o.Name {
	case "set":
		r.CheckSet |= RecentSet
	case "rcheck":
		r.CheckSet |= RecentCheck
	case "update":
		r.CheckSet |= RecentUpdate
	case "remove":
		r.CheckSet |= RecentRemove
	case "seconds":
		v, err := ParseUintOpt("recent", o.Name, arg, 1, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		r.Seconds = uint32(v)
	case "reap":
		r.CheckSet |= RecentReap
	case "hitcount":
		v, err := ParseUintOpt("recent", o.Name, arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		r.HitCount = uint32(v)
	case "rttl":
		r.CheckSet |= RecentTTL
	case "name":
		r.Name = x6String(arg, recentNameLen)
	case "rsource":
		r.Side = RecentSource
	case "rdest":
		r.Side = RecentDest
	case "mask":
		a, err := parseHostGAI(arg)
		if err != nil {
			return err
		}
		r.Mask = a
	}
	if invert {
		r.Invert = true
	}
	r.xflags |= 1 << uint(id)
	return nil
}

func (r *Recent) Final(c *Ctx) error {
	if r.xflags&recentAnyOp == 0 {
		return Errorf("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'")
	}
	return x6Fcheck("recent", recentTable, 0, r.xflags)
}

// Check is xt_recent's recent_mt_check.
func (r *Recent) Check(c *Ctx) error {
	if r.CheckSet&(RecentSet|RecentRemove) != 0 &&
		(r.Seconds != 0 || r.HitCount != 0 || r.CheckSet&(RecentTTL|RecentReap) != 0) {
		return EINVAL("xt_recent: --set/--remove take no --seconds, --hitcount, --rttl or --reap")
	}
	if r.CheckSet&RecentReap != 0 && r.Seconds == 0 {
		return EINVAL("xt_recent: --reap requires --seconds")
	}
	if r.HitCount >= recentMaxStamps {
		return EINVAL("xt_recent: hitcount (%d) is larger than allowed maximum (%d)", r.HitCount, recentMaxStamps-1)
	}
	return checkProcName(r.Name)
}

// checkProcName is the kernel's xt_check_proc_name (it logs nothing; the
// Dmesg text only keeps iptables' "Run `dmesg'" hint, given for EINVAL).
func checkProcName(name string) error {
	if name == "" || name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
		return EINVAL("x_tables: invalid /proc name %q", name)
	}
	return nil
}

func (r *Recent) Save(b *strings.Builder, c *Ctx) {
	if r.Invert {
		b.WriteString(" !")
	}
	if r.CheckSet&RecentSet != 0 {
		b.WriteString(" --set")
	}
	if r.CheckSet&RecentCheck != 0 {
		b.WriteString(" --rcheck")
	}
	if r.CheckSet&RecentUpdate != 0 {
		b.WriteString(" --update")
	}
	if r.CheckSet&RecentRemove != 0 {
		b.WriteString(" --remove")
	}
	if r.Seconds != 0 {
		fmt.Fprintf(b, " --seconds %d", int32(r.Seconds))
	}
	if r.CheckSet&RecentReap != 0 {
		b.WriteString(" --reap")
	}
	if r.HitCount != 0 {
		fmt.Fprintf(b, " --hitcount %d", int32(r.HitCount))
	}
	if r.CheckSet&RecentTTL != 0 {
		b.WriteString(" --rttl")
	}
	b.WriteString(" --name " + r.Name)
	b.WriteString(" --mask " + r.Mask.String())
	if r.Side == RecentSource {
		b.WriteString(" --rsource")
	}
	if r.Side == RecentDest {
		b.WriteString(" --rdest")
	}
}

func (r *Recent) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if r.Invert {
		b.WriteString(" !")
	}
	b.WriteString(" recent:")
	if r.CheckSet&RecentSet != 0 {
		b.WriteString(" SET")
	}
	if r.CheckSet&RecentCheck != 0 {
		b.WriteString(" CHECK")
	}
	if r.CheckSet&RecentUpdate != 0 {
		b.WriteString(" UPDATE")
	}
	if r.CheckSet&RecentRemove != 0 {
		b.WriteString(" REMOVE")
	}
	if r.Seconds != 0 {
		fmt.Fprintf(b, " seconds: %d", int32(r.Seconds))
	}
	if r.CheckSet&RecentReap != 0 {
		b.WriteString(" reap")
	}
	if r.HitCount != 0 {
		fmt.Fprintf(b, " hit_count: %d", int32(r.HitCount))
	}
	if r.CheckSet&RecentTTL != 0 {
		b.WriteString(" TTL-Match")
	}
	b.WriteString(" name: " + r.Name)
	if r.Side == RecentSource {
		b.WriteString(" side: source")
	}
	if r.Side == RecentDest {
		b.WriteString(" side: dest")
	}
	b.WriteString(" mask: " + r.Mask.String())
}

// Packet logic (xt_recent.c, IPv4).
//
// Lists are shared by name, as in the kernel: every rule with the same
// --name (in any iptables table) uses one list. A list takes its --mask
// from the rule that created it (a later rule's --mask is ignored), and
// holds at most RecentIPListTot addresses: adding one more evicts the
// least recently set/updated. Each address keeps a ring of the jiffies of
// its last packets (--set and matching --update add one), as many as the
// largest --hitcount of the rules bound to the list rounded up to a power
// of two (32 without --hitcount; the module parameter ip_pkt_list_tot, 0
// on this host, raises it); binding a rule that needs a larger ring
// empties the list, as the kernel's checkentry does.
//
// The kernel creates a list in the checkentry of the first rule naming it
// and destroys it with the last such rule; nfgo keeps its lists in a
// package-level registry keyed by name (the registry owns them; rules
// hold a pointer from Bind on), created by the first rule bound to the
// name and kept until ResetRecentTables (or ResetStatefulTables).

// xt_recent's module parameters (the values this host's kernel uses, as
// /sys/module/xt_recent/parameters shows). They apply to lists created
// after a change.
var (
	RecentIPListTot    uint32 = 100 // ip_list_tot: addresses per list
	RecentIPPktListTot uint32 = 0   // ip_pkt_list_tot: stamps per address
	// RecentHashSeed is the kernel's hash_rnd (random at boot there). It
	// only decides the order of the lines of RecentProcRead.
	RecentHashSeed uint32 = 0
)

type recentEntry struct {
	addr    uint32
	ttl     uint8
	index   uint16
	nstamps uint16
	stamps  []uint64
	lruPrev *recentEntry
	lruNext *recentEntry
}

// recentList is struct recent_table.
type recentList struct {
	mu        sync.Mutex
	name      string
	mask      uint32
	stampMask uint16 // nstamps_max_mask
	entries   uint32
	hash      [][]*recentEntry // ip_list_hash_size buckets, insertion order
	lruHead   *recentEntry     // least recently used
	lruTail   *recentEntry
	free      []*recentEntry
	last      uint64 // latest jiffies seen
}

var recentRegistry struct {
	mu     sync.Mutex
	tables map[string]*recentList
}

// ResetRecentTables forgets every named recent list.
func ResetRecentTables() {
	recentRegistry.mu.Lock()
	recentRegistry.tables = nil
	recentRegistry.mu.Unlock()
}

// RecentListNames returns the names of the recent lists in existence
// (the files of /proc/net/xt_recent), sorted.
func RecentListNames() []string {
	recentRegistry.mu.Lock()
	defer recentRegistry.mu.Unlock()
	names := make([]string, 0, len(recentRegistry.tables))
	for n := range recentRegistry.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func recentLookupTable(name string) *recentList {
	recentRegistry.mu.Lock()
	defer recentRegistry.mu.Unlock()
	return recentRegistry.tables[name]
}

// recentStampMask is the nstamp_mask of recent_mt_check.
func recentStampMask(hitCount uint32) uint16 {
	roundup := func(n uint32) uint32 { return 1 << bits.Len32(n-1) }
	switch {
	case RecentIPPktListTot != 0 && hitCount < RecentIPPktListTot:
		return uint16(roundup(RecentIPPktListTot) - 1)
	case hitCount != 0:
		return uint16(roundup(hitCount) - 1)
	}
	return 32 - 1
}

// Bind is the list part of recent_mt_check: find the list named by the
// rule, growing its stamp ring (and emptying it) if the rule's --hitcount
// needs more, or create it with the rule's mask.
func (r *Recent) Bind() error {
	if r.tbl.Load() != nil {
		return nil
	}
	need := recentStampMask(r.HitCount)
	recentRegistry.mu.Lock()
	defer recentRegistry.mu.Unlock()
	t := recentRegistry.tables[r.Name]
	if t != nil {
		t.mu.Lock()
		if need > t.stampMask {
			t.flush()
			t.stampMask = need
		}
		t.mu.Unlock()
	} else {
		tot := RecentIPListTot
		if tot == 0 {
			tot = 1 // the kernel refuses to load with ip_list_tot=0
		}
		t = &recentList{
			name: r.Name, mask: uint32(r.Mask), stampMask: need,
			// ip_list_hash_size = 1 << fls(ip_list_tot)
			hash: make([][]*recentEntry, 1<<bits.Len32(tot)),
		}
		if recentRegistry.tables == nil {
			recentRegistry.tables = map[string]*recentList{}
		}
		recentRegistry.tables[r.Name] = t
	}
	r.tbl.Store(t)
	return nil
}

// bucket is recent_entry_hash4: jhash of the address as the kernel holds
// it (network order read as a little-endian word).
func (t *recentList) bucket(addr uint32) int {
	return int(jhash1Word(bits.ReverseBytes32(addr), RecentHashSeed) & uint32(len(t.hash)-1))
}

// lookup is recent_entry_lookup: a TTL of 0 on either side matches any.
func (t *recentList) lookup(addr uint32, ttl uint8) *recentEntry {
	for _, e := range t.hash[t.bucket(addr)] {
		if e.addr == addr && (ttl == e.ttl || ttl == 0 || e.ttl == 0) {
			return e
		}
	}
	return nil
}

func (t *recentList) lruUnlink(e *recentEntry) {
	if e.lruPrev != nil {
		e.lruPrev.lruNext = e.lruNext
	} else {
		t.lruHead = e.lruNext
	}
	if e.lruNext != nil {
		e.lruNext.lruPrev = e.lruPrev
	} else {
		t.lruTail = e.lruPrev
	}
	e.lruPrev, e.lruNext = nil, nil
}

func (t *recentList) lruAppend(e *recentEntry) {
	e.lruPrev, e.lruNext = t.lruTail, nil
	if t.lruTail != nil {
		t.lruTail.lruNext = e
	} else {
		t.lruHead = e
	}
	t.lruTail = e
}

// remove is recent_entry_remove.
func (t *recentList) remove(e *recentEntry) {
	b := t.bucket(e.addr)
	chain := t.hash[b]
	for i, x := range chain {
		if x == e {
			copy(chain[i:], chain[i+1:])
			chain[len(chain)-1] = nil
			t.hash[b] = chain[:len(chain)-1]
			break
		}
	}
	t.lruUnlink(e)
	t.entries--
	t.free = append(t.free, e)
}

// flush is recent_table_flush.
func (t *recentList) flush() {
	for b := range t.hash {
		for len(t.hash[b]) > 0 {
			t.remove(t.hash[b][0])
		}
	}
}

// add is recent_entry_init: a new address with one stamp, evicting the
// least recently used address of a full list. Reuses a freed entry when
// its ring is large enough, else allocates.
func (t *recentList) add(addr uint32, ttl uint8, now uint64) *recentEntry {
	if t.entries >= RecentIPListTot && t.lruHead != nil {
		t.remove(t.lruHead)
	}
	n := int(t.stampMask) + 1
	var e *recentEntry
	for len(t.free) > 0 && e == nil {
		e = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
		if cap(e.stamps) < n {
			e = nil
		}
	}
	if e == nil {
		e = &recentEntry{stamps: make([]uint64, n)}
	}
	e.stamps = e.stamps[:n]
	e.addr, e.ttl = addr, ttl
	e.stamps[0] = now
	e.nstamps, e.index = 1, 1
	b := t.bucket(addr)
	t.hash[b] = append(t.hash[b], e)
	t.lruAppend(e)
	t.entries++
	return e
}

// update is recent_entry_update: one more stamp in the ring (the index
// is the kernel's u16), and the address becomes the most recently used.
func (t *recentList) update(e *recentEntry, now uint64) {
	e.index &= t.stampMask
	e.stamps[e.index] = now
	e.index++
	if e.index > e.nstamps {
		e.nstamps = e.index
	}
	t.lruUnlink(e)
	t.lruAppend(e)
}

// lastStamp is stamps[index-1], the newest stamp. (With a ring of 65536
// the kernel's u16 index wraps to 0 and it reads stamps[-1], outside the
// ring; nfgo reads the ring's last stamp.)
func (e *recentEntry) lastStamp() uint64 {
	return e.stamps[int(e.index-1)&(len(e.stamps)-1)]
}

// Match is recent_mt. The address (source, or destination with --rdest)
// is masked with the list's mask and looked up (with --rttl only an
// entry recorded with the same TTL, or with TTL 0, is found). Then:
//   - --set records the address (a new entry, or one more stamp) and
//     matches;
//   - --remove removes it and matches if it was there;
//   - --rcheck and --update match if the address is listed with at least
//     --hitcount stamps (at least one without it) no older than --seconds
//     (any age without it); --update then adds a stamp when it matched;
//     --reap then drops the least recently used address of the list if
//     its newest stamp is older than --seconds (unless it is the address
//     being updated).
//
// ! inverts the result, not the side effects. The TTL of a packet seen
// with an output device and no local socket (FORWARD, POSTROUTING) is
// taken before forwarding, one more than in the header, as the kernel
// does for packets without a socket of this namespace; OUTPUT packets are
// taken as having one (the kernel's locally generated packets all do).
//
// Time is p.Time only, in jiffies (see Jiffies); the clock never goes
// backwards. A packet that updates an existing address does not allocate;
// adding an address allocates only when no freed entry can be reused.
func (r *Recent) Match(p *Pkt) bool {
	t := r.tbl.Load()
	if t == nil {
		r.Bind()
		t = r.tbl.Load()
	}
	ret := r.Invert
	addr := p.Src
	if r.Side == RecentDest {
		addr = p.Dst
	}
	ttl := p.TTL
	if p.OutIface != "" && p.Sock == nil && p.Hook != HookLocalOut {
		ttl++
	}
	now := Jiffies(p.Time)
	t.mu.Lock()
	defer t.mu.Unlock()
	if now < t.last {
		now = t.last
	}
	t.last = now
	addr &= t.mask
	lttl := uint8(0)
	if r.CheckSet&RecentTTL != 0 {
		lttl = ttl
	}
	e := t.lookup(addr, lttl)
	if e == nil {
		if r.CheckSet&RecentSet == 0 {
			return ret
		}
		t.add(addr, ttl, now)
		return !ret
	}
	switch {
	case r.CheckSet&RecentSet != 0:
		ret = !ret
	case r.CheckSet&RecentRemove != 0:
		t.remove(e)
		return !ret
	case r.CheckSet&(RecentCheck|RecentUpdate) != 0:
		// seconds * HZ is computed in 32 bits by the kernel.
		limit := now - uint64(r.Seconds*uint32(HZ))
		hits := uint32(0)
		for i := 0; i < int(e.nstamps); i++ {
			if r.Seconds != 0 && timeAfter(limit, e.stamps[i]) {
				continue
			}
			hits++
			if r.HitCount == 0 || hits >= r.HitCount {
				ret = !ret
				break
			}
		}
		if r.CheckSet&RecentReap != 0 {
			updating := r.CheckSet&RecentUpdate != 0 && ret
			if h := t.lruHead; !(h == e && updating) && timeAfter(limit, h.lastStamp()) {
				t.remove(h)
			}
		}
	}
	if r.CheckSet&RecentSet != 0 || (r.CheckSet&RecentUpdate != 0 && ret) {
		t.update(e, now)
		e.ttl = ttl
	}
	return ret
}

// RecentProcRead renders the named list as /proc/net/xt_recent/NAME does
// (recent_seq_show), one line per address in the kernel's order (hash
// bucket, then insertion):
//
//	src=10.0.0.1 ttl: 64 last_seen: 4295000000 oldest_pkt: 3 4294990000, 4294995000, 4295000000
//
// last_seen is the newest stamp; "oldest_pkt" is the kernel's ring index
// (the slot after the newest stamp), not a time; the stamps follow in
// ring order. All times are jiffies (see Jiffies). ok is false when no
// list has that name.
func RecentProcRead(name string) (text string, ok bool) {
	t := recentLookupTable(name)
	if t == nil {
		return "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, chain := range t.hash {
		for _, e := range chain {
			i := int(e.index-1) & int(t.stampMask)
			fmt.Fprintf(&b, "src=%s ttl: %d last_seen: %d oldest_pkt: %d", IPv4(e.addr), e.ttl, e.stamps[i], e.index)
			for j := 0; j < int(e.nstamps); j++ {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, " %d", e.stamps[j])
			}
			b.WriteByte('\n')
		}
	}
	return b.String(), true
}

// Errors of RecentProcWrite (the kernel's write(2) errors).
var (
	ErrRecentNoList = errors.New("No such file or directory")
	ErrRecentInval  = errors.New("Invalid argument")
)

// recentProcBuf is sizeof the kernel's buffer for one write: the longest
// "+IPv6-mapped-IPv4" command plus its NUL.
const recentProcBuf = len("+b335:1d35:1e55:dead:c0de:1715:255.255.255.255") + 1

// RecentProcWrite applies one write(2) of data to /proc/net/xt_recent/NAME
// (recent_mt_proc_write) at time now (Unix ns): "/" empties the list,
// "+ADDR" adds ADDR (unmasked, TTL 0) or adds a stamp to it, "-ADDR"
// removes it. Only the first 47 bytes of a write are read (the kernel's
// buffer); the address ends at a newline, a NUL or the end of the data.
// It returns the bytes consumed, as write(2) does. IPv6 addresses (the
// kernel keeps them in the same list) are refused here: nfgo is IPv4-only.
func RecentProcWrite(name string, data []byte, now int64) (int, error) {
	t := recentLookupTable(name)
	if t == nil {
		return 0, ErrRecentNoList
	}
	size := len(data)
	if size == 0 {
		return 0, nil
	}
	if size > recentProcBuf {
		size = recentProcBuf
	}
	buf := data[:size]
	t.mu.Lock()
	defer t.mu.Unlock()
	var add bool
	switch buf[0] {
	case '/':
		t.flush()
		return size, nil
	case '-':
	case '+':
		add = true
	default:
		return 0, ErrRecentInval
	}
	c := buf[1:]
	if strings.IndexByte(string(c), ':') >= 0 {
		return 0, ErrRecentInval // an IPv6 address
	}
	addr, ok := in4Pton(c, '\n')
	if !ok {
		return 0, ErrRecentInval
	}
	j := Jiffies(now)
	if j < t.last {
		j = t.last
	}
	t.last = j
	if e := t.lookup(addr, 0); e == nil {
		if add {
			t.add(addr, 0, j)
		}
	} else if add {
		t.update(e, j)
	} else {
		t.remove(e)
	}
	return len(c) + 1, nil
}

// in4Pton is the kernel's in4_pton(src, len(src), dst, delim, NULL):
// four decimal numbers up to 255 separated by dots, ending at delim, a
// NUL or the end of src.
func in4Pton(src []byte, delim byte) (uint32, bool) {
	var addr uint32
	w, i, have := 0, 0, false
	for k := 0; ; k++ {
		c := byte(0)
		if k < len(src) {
			c = src[k]
		}
		switch {
		case c == delim || c == 0 || c == ':' || c == '.':
			if !have {
				return 0, false
			}
			addr = addr<<8 | uint32(w&0xFF)
			w, have = 0, false
			i++
			if c != '.' {
				return addr, i == 4
			}
		case c >= '0' && c <= '9':
			w = w*10 + int(c-'0')
			have = true
			if w > 255 {
				return 0, false
			}
		default:
			return 0, false
		}
		if i >= 4 {
			return 0, false
		}
	}
}
