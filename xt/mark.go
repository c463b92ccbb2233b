package xt

import (
	"fmt"
	"strings"
)

// mark: [!] --mark value[/mask]  (libxt_mark revision 1, struct
// xt_mark_mtinfo1).

var markMatch = Def{
	Name:     "mark",
	Kind:     KindMatch,
	Revision: 1,
	Options: []Option{
		{Name: "mark", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &Mark{} },
}

// Mark is struct xt_mark_mtinfo1.
type Mark struct {
	Mark, Mask uint32
	Invert     uint8
}

// ParseMarkMask is xtables_parse_mark_mask (XTTYPE_MARKMASK32):
// "value[/mask]", each a strtoul base-0 number up to 0xFFFFFFFF; the mask
// defaults to 0xFFFFFFFF.
func ParseMarkMask(ext, opt, arg string) (val, mask uint32, err error) {
	bad := Errorf("%s: bad integer value for option \"--%s\", or out of range.\n", ext, opt)
	garbage := Errorf("%s: trailing garbage after value for option \"--%s\".\n", ext, opt)
	v, rest, ok := XtablesStrtoul(arg, 0, 0xFFFFFFFF)
	if !ok {
		return 0, 0, bad
	}
	if rest == "" {
		return uint32(v), 0xFFFFFFFF, nil
	}
	if rest[0] != '/' {
		return 0, 0, garbage
	}
	m, rest, ok := XtablesStrtoul(rest[1:], 0, 0xFFFFFFFF)
	if !ok {
		return 0, 0, bad
	}
	if rest != "" {
		return 0, 0, garbage
	}
	return uint32(v), uint32(m), nil
}

// MarkMaskString is xtables_print_mark_mask: " 0xV" or " 0xV/0xM".
func MarkMaskString(val, mask uint32) string {
	if mask != 0xFFFFFFFF {
		return fmt.Sprintf(" 0x%x/0x%x", val, mask)
	}
	return fmt.Sprintf(" 0x%x", val)
}

func (m *Mark) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	v, mask, err := ParseMarkMask("mark", o.Name, arg)
	if err != nil {
		return err
	}
	m.Mark, m.Mask = v, mask
	if invert {
		m.Invert = 1
	}
	return nil
}

func (m *Mark) Final(c *Ctx) error { return nil }

func (m *Mark) Save(b *strings.Builder, c *Ctx) {
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	b.WriteString(" --mark" + MarkMaskString(m.Mark, m.Mask))
}

func (m *Mark) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" mark match")
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	b.WriteString(MarkMaskString(m.Mark, m.Mask))
}

// Match is xt_mark's mark_mt: (skb->mark & mask) == mark, then the
// inversion.
func (m *Mark) Match(p *Pkt) bool {
	return (p.Mark&m.Mask == m.Mark) != (m.Invert != 0)
}
