package xt

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// quota: -m quota [!] --quota BYTES  (libxt_quota, struct xt_quota_info):
// a byte budget that packets spend as they match.

var quotaMatch = Def{
	Name:    "quota",
	Kind:    KindMatch,
	Options: []Option{{Name: "quota", Arg: true, Flags: OptInvert | OptMand}},
	New:     func() Ext { return &Quota{} },
}

// Quota is struct xt_quota_info; left is the kernel's xt_quota_priv,
// which checkentry makes from Quota whenever the table is replaced
// (iptables-legacy replaces the whole table on every change), so that a
// quota starts afresh after any change to its table, and iptables-save
// shows the budget given, never what is left.
type Quota struct {
	Quota  uint64
	Invert bool

	mu      sync.Mutex
	started bool
	left    uint64
}

func (q *Quota) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	v, err := ParseUintOpt("quota", o.Name, arg, 0, math.MaxUint64)
	if err != nil {
		return err
	}
	q.Quota, q.Invert = v, invert
	return nil
}

func (q *Quota) Final(c *Ctx) error { return nil }

func (q *Quota) Save(b *strings.Builder, c *Ctx) {
	if q.Invert {
		b.WriteString(" !")
	}
	fmt.Fprintf(b, " --quota %d", q.Quota)
}

func (q *Quota) Print(b *strings.Builder, c *Ctx, numeric bool) {
	fmt.Fprintf(b, " quota: %d bytes", q.Quota)
}

// Match is quota_mt: a packet that fits in what is left spends its length
// (skb->len) and matches; one that does not empties the budget, so that
// no packet, however small, matches after it. The inversion swaps the
// answer, not the spending.
func (q *Quota) Match(p *Pkt) bool {
	n := uint64(len(p.B))
	q.mu.Lock()
	if !q.started {
		q.started, q.left = true, q.Quota
	}
	ok := q.left >= n
	if ok {
		q.left -= n
	} else {
		q.left = 0
	}
	q.mu.Unlock()
	return ok != q.Invert
}
