package conntrack

import (
	"bytes"
	"strconv"
)

// Connection tracking events, as the kernel's event cache (nf_conntrack_
// ecache.c) and ctnetlink report them to `conntrack -E`: a packet's
// changes to an entry are cached as IPCT_* bits and delivered together
// when the packet passes confirmation (the end of INPUT or POSTROUTING),
// as one NEW (the entry's first packet) or UPDATE; DESTROY is reported
// when the entry leaves the table. With no sink set (Table.Events nil)
// nothing is cached.

// Event bits (IPCT_*).
const (
	EventNew       = 1 << 0
	EventRelated   = 1 << 1
	EventDestroy   = 1 << 2
	EventReply     = 1 << 3
	EventAssured   = 1 << 4
	EventProtoinfo = 1 << 5
	EventHelper    = 1 << 6
	EventMark      = 1 << 7
)

// EventFunc receives an entry's events at time now (Unix ns). It runs on
// the packet path: it must not block for long, nor keep c beyond the call
// except to read it.
type EventFunc func(events uint32, c *Conn, now int64)

// cacheEvent is nf_conntrack_event_cache.
func (t *Table) cacheEvent(ct *Conn, bits uint32) {
	if t.Events != nil {
		ct.ecache.Or(bits)
	}
}

// deliver is nf_ct_deliver_cached_events: the cached bits, if any, go to
// the sink for a confirmed entry that is not dying.
func (t *Table) deliver(ct *Conn, now int64) {
	if t.Events == nil || ct == nil || ct.ecache.Load() == 0 {
		return
	}
	ev := ct.ecache.Swap(0)
	if ev == 0 || ct.status.Load()&(StatusConfirmed|StatusDying) != StatusConfirmed {
		return
	}
	t.Events(ev, ct, now)
}

// destroyed reports an entry leaving the table (nf_ct_delete's
// IPCT_DESTROY); the bits cached and not delivered are dropped with it.
func (t *Table) destroyed(ct *Conn, now int64) {
	if t.Events == nil {
		return
	}
	ct.ecache.Store(0)
	t.Events(EventDestroy, ct, now)
}

// AppendEvent appends the line `conntrack -E` (conntrack-tools 1.4.7)
// prints for an event, newline included: the event type right-aligned in
// nine columns, then the entry as ctnetlink describes it for that event
// (a DESTROY carries no timeout once expired, the protocol state only
// for TCP; NEW and UPDATE carry the timeout, the protocol state only when
// it changed; the mark when it is set or changed; no use count).
func (c *Conn) AppendEvent(b []byte, events uint32, now int64) []byte {
	label := "[UPDATE]"
	switch {
	case events&EventDestroy != 0:
		label = "[DESTROY]"
	case events&(EventNew|EventRelated) != 0:
		label = "[NEW]"
	}
	for i := len(label); i < 9; i++ {
		b = append(b, ' ')
	}
	b = append(b, label...)
	b = append(b, ' ')
	p := c.Proto()
	b = appendPadded(b, protoName(p), 8)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(p), 10)
	b = append(b, ' ')
	destroy := events&EventDestroy != 0
	if exp := c.Expires(now); !destroy || exp != 0 {
		b = strconv.AppendUint(b, uint64(exp), 10)
		b = append(b, ' ')
	}
	if p == protoTCP && (destroy || events&EventProtoinfo != 0) {
		b = append(b, TCPStateNames[c.TCPState()]...)
		b = append(b, ' ')
	}
	b = c.appendTuples(b, p)
	if m := c.Mark(); m != 0 || events&EventMark != 0 {
		b = append(b, "mark="...)
		b = strconv.AppendUint(b, uint64(m), 10)
		b = append(b, ' ')
	}
	if c.zone != 0 {
		b = append(b, "zone="...)
		b = strconv.AppendUint(b, uint64(c.zone), 10)
		b = append(b, ' ')
	}
	if c.helper != nil && !destroy {
		b = append(b, "helper="...)
		b = append(b, c.helper.Name...)
		b = append(b, ' ')
	}
	b = bytes.TrimRight(b, " ")
	return append(b, '\n')
}

// ReportUpdate is ctnetlink's report of an entry changed from userspace
// (conntrack -U): an UPDATE at once, describing the protocol state, the
// mark and the rest (nf_conntrack_eventmask_report after
// ctnetlink_change_conntrack).
func (t *Table) ReportUpdate(ct *Conn, now int64) {
	if t.Events == nil || ct.status.Load()&(StatusConfirmed|StatusDying) != StatusConfirmed {
		return
	}
	ct.ecache.Store(0)
	t.Events(EventReply|EventAssured|EventHelper|EventProtoinfo|EventMark, ct, now)
}
