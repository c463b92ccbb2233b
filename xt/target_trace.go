package xt

import "strings"

// TRACE: -j TRACE  (libxt_TRACE, no options, no data). The kernel allows it
// in the raw table only.

var traceTarget = Def{
	Name:  "TRACE",
	Kind:  KindTarget,
	Table: "raw",
	New:   func() Ext { return &Trace{} },
}

// Trace has no data.
type Trace struct{}

func (t *Trace) Parse(c *Ctx, o *Option, arg string, invert bool) error { return nil }

func (t *Trace) Final(c *Ctx) error { return nil }

func (t *Trace) Save(b *strings.Builder, c *Ctx) {}

func (t *Trace) Print(b *strings.Builder, c *Ctx, numeric bool) {}

// Target is xt_TRACE: mark the packet for tracing (skb->nf_trace); every
// rule it matches from here on is reported.
func (t *Trace) Target(p *Pkt) Verdict {
	p.Trace = true
	return VerdictContinue
}
