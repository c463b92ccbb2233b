package xt

import (
	"fmt"
	"strings"
)

// MARK: -j MARK --set-xmark V[/M] | --set-mark V[/M] | --and-mark V |
// --or-mark V | --xor-mark V  (libxt_MARK revision 2, struct
// xt_mark_tginfo2). Every form is saved as "--set-xmark 0xV/0xM".

var markAny = []string{"set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark"}

var markTarget = Def{
	Name:     "MARK",
	Kind:     KindTarget,
	Revision: 2,
	Options: []Option{
		{Name: "set-xmark", Arg: true, Excl: markAny},
		{Name: "set-mark", Arg: true, Excl: markAny},
		{Name: "and-mark", Arg: true, Excl: markAny},
		{Name: "or-mark", Arg: true, Excl: markAny},
		{Name: "xor-mark", Arg: true, Excl: markAny},
	},
	New: func() Ext { return &MarkTarget{} },
}

// MarkTarget is struct xt_mark_tginfo2: the new mark is
// (old & ^Mask) ^ Mark.
type MarkTarget struct {
	Mark, Mask uint32
	given      bool
}

func (m *MarkTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "set-xmark", "set-mark":
		v, mask, err := ParseMarkMask("MARK", o.Name, arg)
		if err != nil {
			return err
		}
		m.Mark, m.Mask = v, mask
		if o.Name == "set-mark" {
			m.Mask = v | mask
		}
	default:
		x, err := ParseUintOpt("MARK", o.Name, arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		v := uint32(x)
		switch o.Name {
		case "and-mark":
			m.Mark, m.Mask = 0, ^v
		case "or-mark":
			m.Mark, m.Mask = v, v
		case "xor-mark":
			m.Mark, m.Mask = v, 0
		}
	}
	m.given = true
	return nil
}

// Final is mark_tg_check (C runs it before the generic exclusion checks;
// it only fails when no option was given, when those cannot fail).
func (m *MarkTarget) Final(c *Ctx) error {
	if !m.given {
		return Errorf("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required")
	}
	return nil
}

func (m *MarkTarget) Save(b *strings.Builder, c *Ctx) {
	fmt.Fprintf(b, " --set-xmark 0x%x/0x%x", m.Mark, m.Mask)
}

func (m *MarkTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	switch {
	case m.Mark == 0:
		fmt.Fprintf(b, " MARK and 0x%x", ^m.Mask)
	case m.Mark == m.Mask:
		fmt.Fprintf(b, " MARK or 0x%x", m.Mark)
	case m.Mask == 0:
		fmt.Fprintf(b, " MARK xor 0x%x", m.Mark)
	case m.Mask == 0xFFFFFFFF:
		fmt.Fprintf(b, " MARK set 0x%x", m.Mark)
	default:
		fmt.Fprintf(b, " MARK xset 0x%x/0x%x", m.Mark, m.Mask)
	}
}

// Target is xt_MARK's mark_tg: mark = (mark & ^mask) ^ value.
func (m *MarkTarget) Target(p *Pkt) Verdict {
	p.Mark = p.Mark&^m.Mask ^ m.Mark
	return VerdictContinue
}
