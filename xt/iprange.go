package xt

import (
	"strings"
)

// iprange: [!] --src-range ip[-ip] [!] --dst-range ip[-ip]  (libxt_iprange
// revision 1, struct xt_iprange_mtinfo; IPv4 only in nfgo).

var iprangeMatch = Def{
	Name:     "iprange",
	Kind:     KindMatch,
	Family:   FamilyIPv4,
	Revision: 1,
	Options: []Option{
		{Name: "src-range", Arg: true, Flags: OptInvert},
		{Name: "dst-range", Arg: true, Flags: OptInvert},
	},
	New: func() Ext { return &IPRange{} },
}

// IPRange flags (enum xt_iprange_flags).
const (
	IPRangeSrc    = 1 << 0
	IPRangeDst    = 1 << 1
	IPRangeSrcInv = 1 << 4
	IPRangeDstInv = 1 << 5
)

// IPRange is struct xt_iprange_mtinfo for IPv4.
type IPRange struct {
	SrcMin, SrcMax IPv4
	DstMin, DstMax IPv4
	Flags          uint8
}

// parseIPRange is iprange_parse_range: "a" or "a-b", each a numeric IPv4
// address as xtables_numeric_to_ipaddr reads it (1 to 4 parts). A range
// whose first address is above its second is kept (the kernel never
// matches it) with a warning on stderr that quotes both parts as typed,
// "xt_iprange: range 10.5-10.0.0.1 is reversed and will never match", as
// 1.8.9 (and 1.8.13) print it; iptables-restore prints it too, for each
// such line.
func parseIPRange(c *Ctx, arg, opt string) (lo, hi IPv4, err error) {
	from, to := arg, arg
	dash := strings.IndexByte(arg, '-')
	if dash >= 0 {
		from, to = arg[:dash], arg[dash+1:]
	}
	var ok bool
	if lo, ok = numericToIPv4(from, false); !ok {
		return 0, 0, Errorf("iprange: Bad value for \"%s\" option: \"%s\"", opt, from)
	}
	if hi, ok = numericToIPv4(to, false); !ok {
		return 0, 0, Errorf("iprange: Bad value for \"%s\" option: \"%s\"", opt, to)
	}
	if dash >= 0 && lo > hi {
		c.Warnf("xt_iprange: range %s-%s is reversed and will never match", from, to)
	}
	return lo, hi, nil
}

func (m *IPRange) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	lo, hi, err := parseIPRange(c, arg, "--"+o.Name)
	if err != nil {
		return err
	}
	if o.Name == "src-range" {
		m.SrcMin, m.SrcMax = lo, hi
		m.Flags |= IPRangeSrc
		if invert {
			m.Flags |= IPRangeSrcInv
		}
	} else {
		m.DstMin, m.DstMax = lo, hi
		m.Flags |= IPRangeDst
		if invert {
			m.Flags |= IPRangeDstInv
		}
	}
	return nil
}

// Final is iprange_mt_check.
func (m *IPRange) Final(c *Ctx) error {
	if m.Flags&(IPRangeSrc|IPRangeDst) == 0 {
		return Errorf("iprange match: You must specify `--src-range' or `--dst-range'")
	}
	return nil
}

func (m *IPRange) Save(b *strings.Builder, c *Ctx) {
	if m.Flags&IPRangeSrc != 0 {
		if m.Flags&IPRangeSrcInv != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" --src-range " + m.SrcMin.String() + "-" + m.SrcMax.String())
	}
	if m.Flags&IPRangeDst != 0 {
		if m.Flags&IPRangeDstInv != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" --dst-range " + m.DstMin.String() + "-" + m.DstMax.String())
	}
}

func (m *IPRange) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if m.Flags&IPRangeSrc != 0 {
		b.WriteString(" source IP range")
		if m.Flags&IPRangeSrcInv != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" " + m.SrcMin.String() + "-" + m.SrcMax.String())
	}
	if m.Flags&IPRangeDst != 0 {
		b.WriteString(" destination IP range")
		if m.Flags&IPRangeDstInv != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" " + m.DstMin.String() + "-" + m.DstMax.String())
	}
}

// Match is xt_iprange's iprange_mt4: each given range is tested in host
// byte order (a reversed range never matches unless inverted).
func (m *IPRange) Match(p *Pkt) bool {
	if m.Flags&IPRangeSrc != 0 {
		out := p.Src < uint32(m.SrcMin) || p.Src > uint32(m.SrcMax)
		if out != (m.Flags&IPRangeSrcInv != 0) {
			return false
		}
	}
	if m.Flags&IPRangeDst != 0 {
		out := p.Dst < uint32(m.DstMin) || p.Dst > uint32(m.DstMax)
		if out != (m.Flags&IPRangeDstInv != 0) {
			return false
		}
	}
	return true
}
