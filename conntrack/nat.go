package conntrack

import "sync"

// What the NAT core (package nat) needs from connection tracking: tuple
// inversion, the reply tuple of an unconfirmed entry altered to the
// mapping it chose (nf_conntrack_alter_reply), the "is this tuple taken"
// lookup (nf_conntrack_tuple_taken), and the table of source mappings
// (nf_nat_bysource) that keeps one client's address and port mapped the
// same way towards every destination.

// Invert returns the tuple of the other direction (nf_ct_invert_tuple);
// false for an ICMP type that has no reply type.
func (t Tuple) Invert() (Tuple, bool) { return t.invert() }

// AllowClash reports the protocols whose l4proto allows clashes (UDP,
// and those tracked as generic here), whose duplicates confirmation
// merges instead of dropping.
func AllowClash(proto uint8) bool {
	return proto == protoUDP || (proto != protoTCP && proto != protoICMP && proto != protoGRE)
}

// AlterReply is nf_conntrack_alter_reply: NAT gives an unconfirmed entry
// the reply tuple its replies will carry. Confirmed entries are left
// alone (their reply tuple is hashed).
func (c *Conn) AlterReply(t Tuple) {
	if c.Confirmed() {
		return
	}
	c.th[Reply].t = t
}

// TCPSeenEnd is ct->proto.tcp.seen[d].td_end: the highest sequence number
// plus length seen from that side.
func (c *Conn) TCPSeenEnd(d Dir) uint32 {
	c.mu.Lock()
	e := c.tcp.seen[d].end
	c.mu.Unlock()
	return e
}

// TupleTaken is nf_conntrack_tuple_taken: whether a confirmed entry other
// than ignored has tp as one of its tuples, in ignored's zone. An entry
// whose original tuple equals ignored's is the same flow seen twice (the
// clash resolution at confirmation deals with it) and does not count.
// Expired entries met on the way are collected.
func (t *Table) TupleTaken(tp Tuple, ignored *Conn, now int64) bool {
	h := hashTuple(&tp, ignored.zone, t.seed)
	b := t.bucketOf(h)
	l := t.lockOf(b)
	var stale *Conn
	taken := false
	l.RLock()
	for n := t.heads[b]; n != nil; n = n.next {
		ct := n.ct
		if ct == ignored {
			continue
		}
		if ct.expired(now) {
			if stale == nil {
				stale = ct
			}
			continue
		}
		if n.t == tp && ct.zone == ignored.zone && ct.Confirmed() {
			if ignored.th[Original].t == ct.th[Original].t {
				continue
			}
			taken = true
			break
		}
	}
	l.RUnlock()
	if stale != nil {
		t.kill(stale, now)
	}
	return taken
}

// srcKey is what nf_nat_bysource hashes: the original source of a
// connection (same_src: protocol, address, port or id) and its zone.
type srcKey struct {
	src   uint32
	port  uint16
	proto uint8
	zone  uint16
}

// bySource holds the connections that went through a source manip
// (SNAT, MASQUERADE, or the null binding at POSTROUTING and INPUT), by
// their original source.
type bySource struct {
	mu sync.RWMutex
	m  map[srcKey][]*Conn
}

func keyOf(c *Conn) srcKey {
	o := &c.th[Original].t
	return srcKey{src: o.Src, port: o.SrcPort, proto: o.Proto, zone: c.zone}
}

// MarkSourceMapped records that the entry went through a source manip:
// once confirmed, it is a source mapping others can reuse
// (find_appropriate_src). The kernel adds it at nf_nat_setup_info time;
// here it is added at confirmation, so that an entry whose packet was
// dropped never lingers.
func (c *Conn) MarkSourceMapped() { c.srcMapped = true }

func (t *Table) addBySource(c *Conn) {
	k := keyOf(c)
	t.bysrc.mu.Lock()
	if t.bysrc.m == nil {
		t.bysrc.m = map[srcKey][]*Conn{}
	}
	t.bysrc.m[k] = append(t.bysrc.m[k], c)
	t.bysrc.mu.Unlock()
}

func (t *Table) removeBySource(c *Conn) {
	k := keyOf(c)
	t.bysrc.mu.Lock()
	l := t.bysrc.m[k]
	for i, x := range l {
		if x == c {
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(t.bysrc.m, k)
	} else {
		t.bysrc.m[k] = l
	}
	t.bysrc.mu.Unlock()
}

// SourceMappings calls f with the reply tuple of every live connection
// whose original source is that of orig (protocol, address, port) in
// zone, the most recent first (the kernel's hlist_add_head order), until
// f returns true.
func (t *Table) SourceMappings(orig Tuple, zone uint16, now int64, f func(reply Tuple) bool) {
	k := srcKey{src: orig.Src, port: orig.SrcPort, proto: orig.Proto, zone: zone}
	t.bysrc.mu.RLock()
	l := t.bysrc.m[k]
	var buf [8]Tuple
	replies := buf[:0]
	for i := len(l) - 1; i >= 0; i-- {
		if c := l[i]; !c.expired(now) && c.status.Load()&StatusDying == 0 {
			replies = append(replies, c.th[Reply].t)
		}
	}
	t.bysrc.mu.RUnlock()
	for _, r := range replies {
		if f(r) {
			return
		}
	}
}

// PacketTuple is the original-direction tuple of IPv4 packet b as
// nf_ct_get_tuple reads it; false for a packet too short or a non-first
// fragment.
func PacketTuple(b []byte) (Tuple, bool) {
	var t Tuple
	if len(b) < 20 {
		return t, false
	}
	hl := int(b[0]&0x0F) * 4
	if hl < 20 || hl > len(b) || (uint16(b[6])<<8|uint16(b[7]))&0x1FFF != 0 {
		return t, false
	}
	src := uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15])
	dst := uint32(b[16])<<24 | uint32(b[17])<<16 | uint32(b[18])<<8 | uint32(b[19])
	ok := getTuple(src, dst, b[9], b[hl:], &t)
	return t, ok
}
