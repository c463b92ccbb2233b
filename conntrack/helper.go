package conntrack

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nfgo/nfgo/packet"
)

// StatusHelper is IPS_HELPER: a helper was attached explicitly (raw's
// CT --helper) when the entry was created.
const StatusHelper = 1 << 13

// Helper is a conntrack helper (struct nf_conntrack_helper) with its
// expectation policy. The kernel runs a helper from nf_confirm, at the end
// of INPUT and POSTROUTING, on every packet of the entries it is attached
// to (Table.ConfirmPacket).
type Helper struct {
	Name  string
	Proto uint8
	// Port is the helper tuple's source port (the module's ports=
	// parameter); with automatic assignment gone from the kernel it only
	// names the helper.
	Port uint16
	// MaxExpected and Timeout (seconds) are the expectation policy
	// (struct nf_conntrack_expect_policy) of class 0.
	MaxExpected int
	Timeout     int64
	help        func(t *Table, ct *Conn, ci CtInfo, p *packet.Parsed, now int64) bool
}

// FTPPort is the ftp helper's default port (FTP_PORT).
const FTPPort = 21

// helpers are the registered helpers (replaced whole, read without
// locking on the packet path).
var helpers atomic.Pointer[[]*Helper]

func init() {
	h := ftpHelpers(nil)
	helpers.Store(&h)
}

// ftpHelpers is nf_conntrack_ftp_init: one helper per port of the ports=
// module parameter (at most 8; none given means port 21), named "ftp" for
// port 21 and "ftp-PORT" otherwise (nf_ct_helper_init), with the policy
// of at most one expectation, living 5 minutes.
func ftpHelpers(ports []uint16) []*Helper {
	if len(ports) == 0 {
		ports = []uint16{FTPPort}
	}
	if len(ports) > 8 {
		ports = ports[:8]
	}
	var out []*Helper
	for _, p := range ports {
		name := "ftp"
		if p != FTPPort {
			name = "ftp-" + strconv.Itoa(int(p))
		}
		out = append(out, &Helper{Name: name, Proto: protoTCP, Port: p, MaxExpected: 1, Timeout: 5 * 60, help: ftpHelp})
	}
	return out
}

// SetFTPPorts registers the ftp helpers as the kernel does with
// nf_conntrack_ftp.ports=P1,P2,... (nil: the default, port 21). Entries
// keep the helper they were given.
func SetFTPPorts(ports []uint16) {
	h := ftpHelpers(ports)
	helpers.Store(&h)
}

// HelperByName finds a registered helper by name and layer 4 protocol
// (__nf_conntrack_helper_find), nil if there is none. It does not
// allocate.
func HelperByName(name string, proto uint8) *Helper {
	for _, h := range *helpers.Load() {
		if h.Name == name && h.Proto == proto {
			return h
		}
	}
	return nil
}

// Helper is the helper attached to the entry, nil if none.
func (c *Conn) Helper() *Helper { return c.helper }

// Master is the entry whose helper expected this one (ct->master), nil
// for entries that were not expected.
func (c *Conn) Master() *Conn { return c.master }

// Expect is an expectation (struct nf_conntrack_expect): a connection
// the master's helper announced. Its tuple is compared with a new
// connection's original tuple under the mask: the source address and
// port only where the mask has bits, destination and protocol exactly.
type Expect struct {
	Tuple       Tuple
	MaskSrc     uint32
	MaskSrcPort uint16
	Master      *Conn
	Helper      *Helper
	Class       uint8
	zone        uint16
	timeout     int64 // absolute, Unix ns
	bucket      uint32
	next        *Expect // hash chain
	// nextByMaster chains the master's expectations, newest first.
	nextByMaster *Expect
	linked       bool
}

// Expires is the expectation's time left in seconds at now, as
// /proc/net/nf_conntrack_expect and conntrack -L expect print it.
func (e *Expect) Expires(now int64) int64 {
	d := e.timeout - now
	if d < 0 {
		return 0
	}
	return d / 1e9
}

// matches is nf_ct_tuple_mask_cmp of a new connection's tuple with the
// expectation (zone included).
func (e *Expect) matches(tp *Tuple, zone uint16) bool {
	return e.zone == zone && tp.Proto == e.Tuple.Proto && tp.Dst == e.Tuple.Dst && tp.DstPort == e.Tuple.DstPort &&
		(tp.Src^e.Tuple.Src)&e.MaskSrc == 0 && (tp.SrcPort^e.Tuple.SrcPort)&e.MaskSrcPort == 0
}

// expectTable is the expectation hash (nf_ct_expect_hash) of a table.
type expectTable struct {
	mu    sync.Mutex
	heads []*Expect
	count atomic.Int64 // expect_count (read without mu to skip the lookup)
	max   int          // nf_conntrack_expect_max
	seed  uint64
}

// newExpectTable sizes the hash as nf_conntrack_expect_init: buckets/256
// (at least 1) heads, and by default nf_conntrack_expect_max four times
// that.
func newExpectTable(buckets, max int, seed uint64) *expectTable {
	hs := buckets / 256
	if hs < 1 {
		hs = 1
	}
	if max <= 0 {
		max = hs * 4
	}
	return &expectTable{heads: make([]*Expect, hs), max: max, seed: seed}
}

func (x *expectTable) bucketOf(tp *Tuple) uint32 {
	k := Tuple{Dst: tp.Dst, DstPort: tp.DstPort, Proto: tp.Proto}
	h := hashTuple(&k, 0, x.seed^0x657870)
	return uint32(uint64(h) * uint64(len(x.heads)) >> 32)
}

// unlink is nf_ct_unlink_expect; x.mu held.
func (x *expectTable) unlink(e *Expect) {
	if !e.linked {
		return
	}
	e.linked = false
	for pp := &x.heads[e.bucket]; *pp != nil; pp = &(*pp).next {
		if *pp == e {
			*pp = e.next
			break
		}
	}
	e.next = nil
	m := e.Master
	for pp := &m.exps; *pp != nil; pp = &(*pp).nextByMaster {
		if *pp == e {
			*pp = e.nextByMaster
			break
		}
	}
	e.nextByMaster = nil
	m.expecting[e.Class]--
	x.count.Add(-1)
}

// expireBucket drops the expectations of bucket b whose timer has run
// out (the kernel's timers would have removed them by now); x.mu held.
func (x *expectTable) expireBucket(b uint32, now int64) {
	for e := x.heads[b]; e != nil; {
		n := e.next
		if e.timeout-now <= 0 {
			x.unlink(e)
		}
		e = n
	}
}

// expireMaster drops the master's expired expectations; x.mu held.
func (x *expectTable) expireMaster(m *Conn, now int64) {
	for e := m.exps; e != nil; {
		n := e.nextByMaster
		if e.timeout-now <= 0 {
			x.unlink(e)
		}
		e = n
	}
}

func (x *expectTable) expireAll(now int64) {
	for b := range x.heads {
		x.expireBucket(uint32(b), now)
	}
}

// find is nf_ct_find_expectation with unlink set (the CT template is
// confirmed, and packets without one have none): the first active
// expectation matching tp whose master is confirmed and alive is removed
// and returned.
func (t *Table) findExpect(tp *Tuple, zone uint16, now int64) *Expect {
	x := t.exp
	if x.count.Load() == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.bucketOf(tp)
	x.expireBucket(b, now)
	var found *Expect
	for e := x.heads[b]; e != nil; e = e.next {
		if e.matches(tp, zone) {
			found = e
			break
		}
	}
	if found == nil {
		return nil
	}
	s := found.Master.status.Load()
	if s&StatusConfirmed == 0 || s&StatusDying != 0 {
		return nil
	}
	x.unlink(found)
	t.StatExpectNew.Add(1)
	return found
}

// Errors of expectRelated (nf_ct_expect_related's).
type expectErr uint8

const (
	expOK      expectErr = iota
	expBusy              // -EBUSY: clashes with another master's expectation
	expAlready           // -EALREADY
	expMFile             // -EMFILE: over the policy's limit or the table's
)

// expectRelated is nf_ct_expect_related: insert e, replacing an identical
// expectation of the same master, evicting the master's oldest when the
// policy's maximum is reached, refusing clashes and a full table.
func (t *Table) expectRelated(e *Expect, now int64) expectErr {
	x := t.exp
	x.mu.Lock()
	defer x.mu.Unlock()
	m := e.Master
	b := x.bucketOf(&e.Tuple)
	x.expireBucket(b, now)
	x.expireMaster(m, now)
	for i := x.heads[b]; i != nil; {
		n := i.next
		if i.Master == m && i.Tuple == e.Tuple && i.MaskSrc == e.MaskSrc && i.MaskSrcPort == e.MaskSrcPort && i.zone == e.zone {
			if i.Class != e.Class {
				return expAlready
			}
			x.unlink(i)
			break
		}
		// expect_clash: equal where both masks have bits.
		ms, mp := i.MaskSrc&e.MaskSrc, i.MaskSrcPort&e.MaskSrcPort
		if i.zone == e.zone && i.Tuple.Proto == e.Tuple.Proto && i.Tuple.Dst == e.Tuple.Dst && i.Tuple.DstPort == e.Tuple.DstPort &&
			(i.Tuple.Src^e.Tuple.Src)&ms == 0 && (i.Tuple.SrcPort^e.Tuple.SrcPort)&mp == 0 {
			return expBusy
		}
		i = n
	}
	if h := m.helper; h != nil && h.MaxExpected > 0 && int(m.expecting[e.Class]) >= h.MaxExpected {
		// evict_oldest_expect: the last of the master's list (newest first).
		var last *Expect
		for i := m.exps; i != nil; i = i.nextByMaster {
			if i.Class == e.Class {
				last = i
			}
		}
		if last != nil {
			x.unlink(last)
		}
		if int(m.expecting[e.Class]) >= h.MaxExpected {
			return expMFile
		}
	}
	if x.count.Load() >= int64(x.max) {
		x.expireAll(now)
		if x.count.Load() >= int64(x.max) {
			return expMFile
		}
	}
	// nf_ct_expect_insert
	if m.helper != nil {
		e.timeout = now + m.helper.Timeout*1e9
	}
	e.bucket = b
	e.next = x.heads[b]
	x.heads[b] = e
	e.nextByMaster = m.exps
	m.exps = e
	m.expecting[e.Class]++
	e.linked = true
	x.count.Add(1)
	t.StatExpectCreate.Add(1)
	return expOK
}

// removeExpectations is nf_ct_remove_expectations: a dying master takes
// its expectations with it.
func (t *Table) removeExpectations(m *Conn) {
	if m.helper == nil {
		return
	}
	x := t.exp
	x.mu.Lock()
	for m.exps != nil {
		x.unlink(m.exps)
	}
	x.mu.Unlock()
}

// ExpectCount is the number of live expectations (expect_count; expired
// ones not yet collected included).
func (t *Table) ExpectCount() int {
	return int(t.exp.count.Load())
}

// EachExpect calls f for every unexpired expectation, in hash order (the
// order of /proc/net/nf_conntrack_expect and conntrack -L expect).
func (t *Table) EachExpect(now int64, f func(*Expect)) {
	x := t.exp
	var all []*Expect
	x.mu.Lock()
	for b := range x.heads {
		for e := x.heads[b]; e != nil; e = e.next {
			if e.timeout-now > 0 {
				all = append(all, e)
			}
		}
	}
	x.mu.Unlock()
	for _, e := range all {
		f(e)
	}
}
