package xt

import (
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/logline"
)

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

// AppendTraceLine appends the kernel's TRACE line for one step of a traced
// packet ("TRACE: table:chain:comment:rulenum IN=... "), as nf_log_trace
// prints it with the default log flags (TCP sequence, TCP and IP options,
// UID).
func AppendTraceLine(b []byte, p *Pkt, table, chain, comment string, rulenum int) []byte {
	b = append(b, "TRACE: "...)
	b = append(b, table...)
	b = append(b, ':')
	b = append(b, chain...)
	b = append(b, ':')
	b = append(b, comment...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(rulenum), 10)
	b = append(b, ' ')
	lp := logline.Packet{
		In: p.InIface, Out: p.OutIface, MAC: p.MAC, HardHeaderLen: p.InHardHeaderLen, MACEther: p.InEther,
		IP: p.B, Mark: p.Mark, Flags: logline.TCPSeq | logline.TCPOpt | logline.IPOpt | logline.UID,
	}
	if p.Sock != nil {
		lp.HasUID, lp.UID, lp.GID = true, p.Sock.UID, p.Sock.GID
	}
	return logline.Append(b, &lp)
}
