package xt

import (
	"fmt"
	"strings"
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
