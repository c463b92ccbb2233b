package xt

import "strings"

// connmark: -m connmark [!] --mark VALUE[/MASK] (libxt_connmark revision 1,
// struct xt_connmark_mtinfo1).

var connmarkMatch = Def{
	Conntrack: true,
	Name:      "connmark",
	Kind:      KindMatch,
	Revision:  1,
	Options: []Option{
		{Name: "mark", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &Connmark{} },
}

// Connmark is struct xt_connmark_mtinfo1.
type Connmark struct {
	Mark, Mask uint32
	Invert     bool
}

func (m *Connmark) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	v, mask, err := ParseMarkMask("connmark", o.Name, arg)
	if err != nil {
		return err
	}
	m.Mark, m.Mask = v, mask
	if invert {
		m.Invert = true
	}
	return nil
}

func (m *Connmark) Final(c *Ctx) error { return nil }

func (m *Connmark) Save(b *strings.Builder, c *Ctx) {
	if m.Invert {
		b.WriteString(" !")
	}
	b.WriteString(" --mark")
	b.WriteString(MarkMaskString(m.Mark, m.Mask))
}

func (m *Connmark) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" connmark match ")
	if m.Invert {
		b.WriteString("!")
	}
	b.WriteString(MarkMaskString(m.Mark, m.Mask))
}

// Match is connmark_mt: (ct mark & mask) == mark, inverted on request;
// no entry, no match.
func (m *Connmark) Match(p *Pkt) bool {
	if p.Conn == nil {
		return false
	}
	return (p.Conn.Mark()&m.Mask == m.Mark) != m.Invert
}
