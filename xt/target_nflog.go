package xt

import (
	"fmt"
	"strings"
)

// NFLOG: -j NFLOG [--nflog-group N] [--nflog-prefix P] [--nflog-range N |
// --nflog-size N] [--nflog-threshold N]  (libxt_NFLOG, struct
// xt_nflog_info).

var nflogTarget = Def{
	Name: "NFLOG",
	Kind: KindTarget,
	Options: []Option{
		{Name: "nflog-group", Arg: true},
		{Name: "nflog-prefix", Arg: true},
		// --nflog-range and --nflog-size exclude each other; Final checks
		// it after NFLOG_check's warning, in C's order.
		{Name: "nflog-range", Arg: true},
		{Name: "nflog-size", Arg: true},
		{Name: "nflog-threshold", Arg: true},
	},
	New: func() Ext { return &NFLog{Threshold: NFLogDefaultThreshold} },
}

const (
	NFLogDefaultThreshold = 0
	NFLogFCopyLen         = 0x1 // XT_NFLOG_F_COPY_LEN
	nflogPrefixSize       = 64
)

// NFLog is struct xt_nflog_info.
type NFLog struct {
	Len       uint32
	Group     uint16
	Threshold uint16
	Flags     uint16
	Prefix    string // at most 63 bytes

	sawRange, sawSize bool
}

func (n *NFLog) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "nflog-group":
		v, err := ParseUintOpt("NFLOG", o.Name, arg, 0, 0xFFFF)
		if err != nil {
			return err
		}
		n.Group = uint16(v)
	case "nflog-prefix":
		p, err := ParseXtString(arg, 1, nflogPrefixSize)
		if err != nil {
			return err
		}
		n.Prefix = p
		if strings.IndexByte(arg, '\n') >= 0 {
			return Errorf("Newlines not allowed in --log-prefix")
		}
	case "nflog-range", "nflog-size":
		v, err := ParseUintOpt("NFLOG", o.Name, arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		n.Len = uint32(v)
		if o.Name == "nflog-range" {
			n.sawRange = true
		} else {
			n.sawSize = true
		}
	case "nflog-threshold":
		v, err := ParseUintOpt("NFLOG", o.Name, arg, 0, 0xFFFF)
		if err != nil {
			return err
		}
		n.Threshold = uint16(v)
	}
	return nil
}

// Final is NFLOG_check, then the x6 exclusion of --nflog-range and
// --nflog-size.
func (n *NFLog) Final(c *Ctx) error {
	if n.sawRange {
		c.Warnf("warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead")
	}
	if n.sawSize {
		n.Flags |= NFLogFCopyLen
	}
	if n.sawRange && n.sawSize {
		return Errorf("NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".\n")
	}
	return nil
}

func (n *NFLog) print(b *strings.Builder, pfx string) {
	if n.Prefix != "" {
		b.WriteString(" " + pfx + "nflog-prefix")
		SaveString(b, n.Prefix)
	}
	if n.Group != 0 {
		fmt.Fprintf(b, " %snflog-group %d", pfx, n.Group)
	}
	if n.Flags&NFLogFCopyLen != 0 {
		fmt.Fprintf(b, " %snflog-size %d", pfx, n.Len)
	} else if n.Len != 0 {
		fmt.Fprintf(b, " %snflog-range %d", pfx, n.Len)
	}
	if n.Threshold != NFLogDefaultThreshold {
		fmt.Fprintf(b, " %snflog-threshold %d", pfx, n.Threshold)
	}
}

func (n *NFLog) Save(b *strings.Builder, c *Ctx) { n.print(b, "--") }

func (n *NFLog) Print(b *strings.Builder, c *Ctx, numeric bool) { n.print(b, "") }

// NFLogger is implemented by event sinks that take NFLOG events (the
// packet, the group and the prefix, as nfnetlink_log would deliver them).
type NFLogger interface {
	NFLog(p *Pkt, group uint16, prefix string)
}

// Target is xt_NFLOG's nflog_tg: hand the packet to the log group and go
// on with the next rule.
func (n *NFLog) Target(p *Pkt) Verdict {
	if l, ok := p.Events.(NFLogger); ok {
		l.NFLog(p, n.Group, n.Prefix)
	}
	return VerdictContinue
}
