package xt

import (
	"fmt"
	"strings"
)

// length: [!] --length min[:max]  (libxt_length, struct xt_length_info).

var lengthMatch = Def{
	Name: "length",
	Kind: KindMatch,
	Options: []Option{
		{Name: "length", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &Length{} },
}

// Length is struct xt_length_info.
type Length struct {
	Min, Max uint16
	Invert   uint8
}

// ParseMintRange is xtopt_parse_mint for an N:M range option as 1.8.13
// has it: an empty first part is 0, an empty second part max, and the
// second part may not be below the first.
// 1.8.13: "4:3" is refused ("bad value ... near \"3\", or out of range
// (4-65535)"); 1.8.9 accepts and saves a descending range (differential
// tests skip "mint-descending-range").
func ParseMintRange(ext, opt, arg string, max uint64) ([]uint64, error) {
	var vals []uint64
	var lmin uint64
	s := arg
	for {
		if len(vals) == 2 {
			return nil, Errorf("%s: Too many components for option \"--%s\" (max: %d)\n", ext, opt, 2)
		}
		v := lmin
		if len(vals) == 1 {
			v = max
		}
		rest := s
		if s != "" && s[0] != ':' {
			var ok bool
			v, rest, ok = XtablesStrtoul(s, lmin, max)
			if !ok {
				return nil, Errorf("%s: bad value for option \"--%s\" near \"%s\", or out of range (%d-%d).\n", ext, opt, s, lmin, max)
			}
			if rest != "" && rest[0] != ':' {
				return nil, Errorf("%s: Argument to \"--%s\" has unexpected characters near \"%s\".\n", ext, opt, rest)
			}
			lmin = v
		}
		vals = append(vals, v)
		if rest == "" {
			return vals, nil
		}
		s = rest[1:]
	}
}

func (m *Length) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	vals, err := ParseMintRange("length", o.Name, arg, 0xFFFF)
	if err != nil {
		return err
	}
	m.Min, m.Max = uint16(vals[0]), uint16(vals[0])
	if len(vals) >= 2 {
		m.Max = uint16(vals[1])
	}
	if invert {
		m.Invert = 1
	}
	return nil
}

func (m *Length) Final(c *Ctx) error { return nil }

func (m *Length) writeRange(b *strings.Builder) {
	if m.Min == m.Max {
		fmt.Fprintf(b, "%d", m.Min)
	} else {
		fmt.Fprintf(b, "%d:%d", m.Min, m.Max)
	}
}

func (m *Length) Save(b *strings.Builder, c *Ctx) {
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	b.WriteString(" --length ")
	m.writeRange(b)
}

func (m *Length) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" length ")
	if m.Invert != 0 {
		b.WriteByte('!')
	}
	m.writeRange(b)
}

// Match is xt_length's length_mt: the IPv4 total length (skb_ip_totlen)
// against [Min, Max], then the inversion. A descending range never
// matches unless inverted, as in the kernel.
func (m *Length) Match(p *Pkt) bool {
	n := p.TotLen
	return (n >= m.Min && n <= m.Max) != (m.Invert != 0)
}
