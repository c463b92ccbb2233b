package xt

import (
	"fmt"
	"strings"
	"sync"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// connlimit: -m connlimit --connlimit-upto N|--connlimit-above N
// [--connlimit-mask L] [--connlimit-saddr|--connlimit-daddr]
// (libxt_connlimit revision 1, struct xt_connlimit_info).

var connlimitMatch = Def{
	Conntrack: true,
	Name:      "connlimit",
	Kind:      KindMatch,
	Revision:  1,
	Options: []Option{
		{Name: "connlimit-upto", Arg: true, Flags: OptInvert},
		{Name: "connlimit-above", Arg: true, Flags: OptInvert},
		{Name: "connlimit-mask", Arg: true},
		{Name: "connlimit-saddr"},
		{Name: "connlimit-daddr"},
	},
	New: func() Ext { return &Connlimit{Mask: 0xFFFFFFFF} },
}

// Connlimit flags (XT_CONNLIMIT_*).
const (
	ConnlimitInvert = 1 << 0
	ConnlimitDaddr  = 1 << 1
)

// Connlimit is struct xt_connlimit_info (IPv4 mask).
type Connlimit struct {
	Mask  IPv4
	Limit uint32
	Flags uint32

	xflags uint32

	// state is the kernel's info->data (struct nf_conncount_data): the
	// rule's own remembered connections, made on the first packet.
	state connlimitState
}

var connlimitTable = []x6Entry{
	{name: "connlimit-upto", excl: 1 << 1},
	{name: "connlimit-above", excl: 1 << 0},
	{name: "connlimit-mask"},
	{name: "connlimit-saddr", excl: 1 << 4},
	{name: "connlimit-daddr", excl: 1 << 3},
}

func (l *Connlimit) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	id := 0
	for i, e := range connlimitTable {
		if e.name == o.Name {
			id = i
		}
	}
	switch o.Name {
	case "connlimit-upto", "connlimit-above":
		v, err := ParseUintOpt("connlimit", o.Name, arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		l.Limit = uint32(v)
		if invert != (o.Name == "connlimit-upto") {
			l.Flags |= ConnlimitInvert
		}
	case "connlimit-mask":
		p, err := parsePlen("connlimit", o.Name, arg)
		if err != nil {
			return err
		}
		l.Mask = plenToMask(p)
	case "connlimit-saddr":
		l.Flags &^= ConnlimitDaddr
	case "connlimit-daddr":
		l.Flags |= ConnlimitDaddr
	}
	l.xflags |= 1 << uint(id)
	return nil
}

func (l *Connlimit) Final(c *Ctx) error {
	if l.xflags&3 == 0 {
		return Errorf("You must specify \"--connlimit-above\" or \"--connlimit-upto\".")
	}
	return x6Fcheck("connlimit", connlimitTable, 0, l.xflags)
}

// countBits4 is libxt_connlimit's count_bits4.
func countBits4(m IPv4) int {
	bits := 0
	for x := ^uint32(m); x != 0; x >>= 1 {
		bits++
	}
	return 32 - bits
}

func (l *Connlimit) Save(b *strings.Builder, c *Ctx) {
	if l.Flags&ConnlimitInvert != 0 {
		fmt.Fprintf(b, " --connlimit-upto %d", l.Limit)
	} else {
		fmt.Fprintf(b, " --connlimit-above %d", l.Limit)
	}
	fmt.Fprintf(b, " --connlimit-mask %d", countBits4(l.Mask))
	if l.Flags&ConnlimitDaddr != 0 {
		b.WriteString(" --connlimit-daddr")
	} else {
		b.WriteString(" --connlimit-saddr")
	}
}

func (l *Connlimit) Print(b *strings.Builder, c *Ctx, numeric bool) {
	side, op := "src", ">"
	if l.Flags&ConnlimitDaddr != 0 {
		side = "dst"
	}
	if l.Flags&ConnlimitInvert != 0 {
		op = "<="
	}
	fmt.Fprintf(b, " #conn %s/%d %s %d", side, countBits4(l.Mask), op, l.Limit)
}

// Packet logic: Linux 6.18 xt_connlimit on nf_conncount.
//
// The match counts the connections of the packet's key — its source (or,
// with --connlimit-daddr, destination) address masked with
// --connlimit-mask, and the conntrack zone — in a set of connection
// tuples the rule keeps for itself, adding the packet's own connection:
//
//   - The packet's tuple is the original tuple of its conntrack entry;
//     a packet without one (INVALID, UNTRACKED, no tracking) uses the
//     tuple of its own headers, as nf_ct_get_tuplepr builds it, looked up
//     in the conntrack table. A packet that yields no tuple (a non-first
//     fragment, an ICMP header shorter than 8 bytes, a TCP/UDP header
//     shorter than 4, a GRE version 1 header of a protocol other than
//     PPP) is hot-dropped: nf_conncount returns 0.
//   - A confirmed, ASSURED connection is already counted: nothing is
//     added, and the key's list is garbage-collected (at most once a
//     jiffy). A confirmed connection not yet assured, an unconfirmed one
//     or one without an entry is checked against the list (entries whose
//     connection is gone from the table, or is TCP in TIME_WAIT or CLOSE,
//     are dropped, at most 65 per packet; its own tuple already there is
//     not added twice) and added. The kernel skips that check and adds
//     at once when the list was checked in the same jiffy and fewer than
//     64 entries were added since.
//   - The count is the list's length afterwards. 0 (the packet's own
//     connection was closed and garbage-collected along with every other
//     one of the key, or a key whose list became empty sees an assured
//     connection's packet) makes the kernel hot-drop the packet.
//   - The match is count > limit, inverted by --connlimit-upto.
//
// Modelled differently, as nothing the packets show can tell:
//   - One CPU: the kernel evicts an entry not found in the conntrack
//     table only when the same CPU added it or it is two jiffies old
//     (another CPU may be about to confirm it); here the packets come one
//     at a time, so an entry not found is always evicted.
//   - The kernel's keys live in 256 red-black trees under a random hash;
//     inserting a new key garbage-collects up to 8 lists on the tree's
//     search path and frees those left empty. Here the keys are spread
//     over 256 slots by a fixed hash, and a new key garbage-collects up to
//     8 lists of its slot (oldest first) and frees the empty ones. A list
//     that becomes empty otherwise stays until then, as the kernel's node
//     does (its background worker frees empty nodes only in bulk).
//   - SCTP and UDP-Lite packets without an entry are given portless
//     tuples, as nfgo's conntrack tracks those protocols as generic ones;
//     the GRE source key is 0 (no PPTP keymap).
//
// Time is Jiffies(p.Time) truncated to 32 bits, the kernel's (u32)jiffies.

// ConntrackTabler is implemented by a Tracker that can give its
// connection tracking table (netfilter's): connlimit looks up there
// whether the connections it remembers still exist
// (nf_conntrack_find_get). Without it, no remembered connection is found.
type ConntrackTabler interface {
	ConntrackTable() *conntrack.Table
}

const (
	connlimitSlots      = 256 // CONNCOUNT_SLOTS
	connlimitGCMaxNodes = 8   // CONNCOUNT_GC_MAX_NODES
	connlimitMaxCollect = 64  // CONNCOUNT_GC_MAX_COLLECT
)

type connlimitKey struct {
	addr uint32
	zone uint16
}

type connlimitEntry struct {
	t    conntrack.Tuple
	zone uint16
}

// connlimitList is struct nf_conncount_list (with its tree node's key).
type connlimitList struct {
	key         connlimitKey
	entries     []connlimitEntry
	lastGC      uint32
	lastGCCount int
}

// connlimitState is struct nf_conncount_data.
type connlimitState struct {
	mu    sync.Mutex
	index map[connlimitKey]*connlimitList
	slots [connlimitSlots][]*connlimitList
}

// Match is connlimit_mt.
func (l *Connlimit) Match(p *Pkt) bool {
	var tbl *conntrack.Table
	if t, ok := p.Tracker.(ConntrackTabler); ok {
		tbl = t.ConntrackTable()
	}
	var zone uint16
	if p.Conn != nil {
		zone = p.Conn.Zone()
	}
	a := p.Src
	if l.Flags&ConnlimitDaddr != 0 {
		a = p.Dst
	}
	n := l.state.count(p, tbl, connlimitKey{a & uint32(l.Mask), zone})
	if n == 0 {
		p.HotDrop = true
		return false
	}
	return (n > l.Limit) != (l.Flags&ConnlimitInvert != 0)
}

// Count returns how many connections the rule remembers for the masked
// address addr in zone, after garbage-collecting that list at time now
// (Unix ns) as nf_conncount_count_skb without a packet does; tbl is the
// conntrack table (nil: none). For tests and listings.
func (l *Connlimit) Count(tbl *conntrack.Table, addr uint32, zone uint16, now int64) int {
	s := &l.state
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.index[connlimitKey{addr & uint32(l.Mask), zone}]
	if ls == nil {
		return 0
	}
	ls.gc(tbl, uint32(Jiffies(now)), now)
	return len(ls.entries)
}

// Outcomes of connlimitList.add (__nf_conncount_add).
const (
	connlimitAdded  = iota // added, or found already there (0)
	connlimitExists        // an assured connection: not added (-EEXIST)
	connlimitFailed        // no tuple (-ENOENT)
)

// count is count_tree with insert_tree.
func (s *connlimitState) count(p *Pkt, tbl *conntrack.Table, key connlimitKey) uint32 {
	now := uint32(Jiffies(p.Time))
	s.mu.Lock()
	defer s.mu.Unlock()
	if ls := s.index[key]; ls != nil {
		wasEmpty := len(ls.entries) == 0
		switch ls.add(p, tbl, now) {
		case connlimitFailed:
			return 0
		case connlimitExists:
			// count_tree collects the list; insert_tree (where an
			// empty list is handled) does not.
			if !wasEmpty {
				ls.gc(tbl, now, p.Time)
			}
		}
		return uint32(len(ls.entries))
	}
	slot := &s.slots[jhash1Word(key.addr, uint32(key.zone))%connlimitSlots]
	s.collectSlot(slot, tbl, now, p.Time)
	tp, zone, _, ok := connlimitTuple(p, tbl)
	if !ok {
		return 0
	}
	ls := &connlimitList{key: key, lastGC: now}
	ls.entries = append(ls.entries, connlimitEntry{tp, zone})
	if s.index == nil {
		s.index = make(map[connlimitKey]*connlimitList)
	}
	s.index[key] = ls
	*slot = append(*slot, ls)
	return 1
}

// collectSlot is insert_tree's garbage collection on the way down: up to
// 8 lists collected, the empty ones freed.
func (s *connlimitState) collectSlot(slot *[]*connlimitList, tbl *conntrack.Table, now uint32, nowNS int64) {
	lists := *slot
	n := len(lists)
	if n > connlimitGCMaxNodes {
		n = connlimitGCMaxNodes
	}
	kept := lists[:0]
	for i, ls := range lists {
		if i < n && ls.gc(tbl, now, nowNS) {
			delete(s.index, ls.key)
			continue
		}
		kept = append(kept, ls)
	}
	for i := len(kept); i < len(lists); i++ {
		lists[i] = nil
	}
	*slot = kept
}

// connlimitTuple is get_ct_or_tuple_from_skb: the packet's connection's
// original tuple, or its own tuple and the connection the table has for
// it (nil if none).
func connlimitTuple(p *Pkt, tbl *conntrack.Table) (conntrack.Tuple, uint16, *conntrack.Conn, bool) {
	if p.Conn != nil {
		return p.Conn.Tuple(conntrack.Original), p.Conn.Zone(), p.Conn, true
	}
	tp, ok := packetTuple(&p.Parsed)
	if !ok {
		return tp, 0, nil, false
	}
	var ct *conntrack.Conn
	if tbl != nil {
		ct, _ = tbl.Find(tp, 0, p.Time)
	}
	return tp, 0, ct, true
}

// packetTuple is nf_ct_get_tuplepr for IPv4, with the layer 4 parts
// nfgo's conntrack keeps (ports for TCP and UDP, id/type/code for ICMP,
// the PPTP call id for GRE version 1).
func packetTuple(p *packet.Parsed) (conntrack.Tuple, bool) {
	tp := conntrack.Tuple{Src: p.Src, Dst: p.Dst, Proto: p.Proto}
	if p.FragOffset() != 0 || p.IHL > len(p.B) {
		return tp, false
	}
	l4 := p.B[p.IHL:]
	switch p.Proto {
	case packet.ProtoICMP:
		if len(l4) < 8 {
			return tp, false
		}
		tp.Type, tp.Code = l4[0], l4[1]
		tp.SrcPort = uint16(l4[4])<<8 | uint16(l4[5])
	case packet.ProtoTCP, packet.ProtoUDP:
		if len(l4) < 4 {
			return tp, false
		}
		tp.SrcPort = uint16(l4[0])<<8 | uint16(l4[1])
		tp.DstPort = uint16(l4[2])<<8 | uint16(l4[3])
	case 47: // GRE
		if len(l4) < 8 || l4[1]&0x07 != 1 {
			return tp, true
		}
		if uint16(l4[2])<<8|uint16(l4[3]) != 0x880b { // GRE_PROTO_PPP
			return tp, false
		}
		tp.DstPort = uint16(l4[6])<<8 | uint16(l4[7])
	}
	return tp, true
}

// alive is find_or_evict's lookup (on one CPU): the remembered
// connection's entry, nil if it is gone.
func (e *connlimitEntry) alive(tbl *conntrack.Table, nowNS int64) *conntrack.Conn {
	if tbl == nil {
		return nil
	}
	ct, _ := tbl.Find(e.t, e.zone, nowNS)
	return ct
}

// connlimitClosed is already_closed: TCP in TIME_WAIT or CLOSE.
func connlimitClosed(ct *conntrack.Conn) bool {
	if ct.Proto() != packet.ProtoTCP {
		return false
	}
	s := ct.TCPState()
	return s == conntrack.TCPTimeWait || s == conntrack.TCPClose
}

func (ls *connlimitList) remove(i int) {
	copy(ls.entries[i:], ls.entries[i+1:])
	ls.entries[len(ls.entries)-1] = connlimitEntry{}
	ls.entries = ls.entries[:len(ls.entries)-1]
}

// add is __nf_conncount_add.
func (ls *connlimitList) add(p *Pkt, tbl *conntrack.Table, now uint32) int {
	tp, zone, ct, ok := connlimitTuple(p, tbl)
	if !ok {
		return connlimitFailed
	}
	check := true
	if ct != nil && ct.Confirmed() {
		if ct.Status()&conntrack.StatusAssured != 0 {
			return connlimitExists
		}
	} else if now == ls.lastGC && len(ls.entries)-ls.lastGCCount < connlimitMaxCollect {
		check = false
	}
	if check {
		collect := 0
		for i := 0; i < len(ls.entries); {
			if collect > connlimitMaxCollect {
				break
			}
			e := &ls.entries[i]
			found := e.alive(tbl, p.Time)
			if found == nil {
				ls.remove(i)
				collect++
				continue
			}
			if e.t == tp && e.zone == zone {
				return connlimitAdded // already counted
			}
			if connlimitClosed(found) {
				ls.remove(i)
				collect++
				continue
			}
			i++
		}
		ls.lastGC = now
		ls.lastGCCount = len(ls.entries)
	}
	ls.entries = append(ls.entries, connlimitEntry{tp, zone})
	return connlimitAdded
}

// gc is __nf_conncount_gc_list; true if the list is empty afterwards
// (false when it was collected in this jiffy already).
func (ls *connlimitList) gc(tbl *conntrack.Table, now uint32, nowNS int64) bool {
	if now == ls.lastGC {
		return false
	}
	collected := 0
	for i := 0; i < len(ls.entries); {
		found := ls.entries[i].alive(tbl, nowNS)
		if found == nil || connlimitClosed(found) {
			ls.remove(i)
			collected++
			continue
		}
		i++
		if collected > connlimitMaxCollect {
			break
		}
	}
	ls.lastGC = now
	ls.lastGCCount = len(ls.entries)
	return len(ls.entries) == 0
}
