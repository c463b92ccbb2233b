package xt

import (
	"fmt"
	"strings"
)

// ttl: [!] --ttl-eq N | --ttl-lt N | --ttl-gt N  (libipt_ttl, struct
// ipt_ttl_info). 1.8.9 also has "--ttl", an alias of --ttl-eq; as it
// shares --ttl-eq's id, libxtables treats it as --ttl-eq in every check
// (it may be inverted, and "--ttl-eq 1 --ttl 2" is "--ttl-eq" used twice).

var ttlX6 = X6Table{Ext: "ttl", Entries: []X6Entry{
	{Name: "ttl-lt", ID: ttlOptLT, Arg: true, Excl: 7},
	{Name: "ttl-gt", ID: ttlOptGT, Arg: true, Excl: 7},
	{Name: "ttl-eq", ID: ttlOptEQ, Arg: true, Flags: OptInvert, Excl: 7},
	{Name: "ttl", ID: ttlOptEQ, Arg: true, Excl: 7},
}}

const (
	ttlOptEQ = 0
	ttlOptLT = 1
	ttlOptGT = 2
)

var ttlMatch = Def{
	Name:    "ttl",
	Kind:    KindMatch,
	Family:  FamilyIPv4,
	Options: ttlX6.Options(),
	New:     func() Ext { return &TTL{} },
}

// TTL modes (IPT_TTL_*).
const (
	TTLEq = 0
	TTLNe = 1
	TTLLt = 2
	TTLGt = 3
)

// TTL is struct ipt_ttl_info.
type TTL struct {
	Mode   uint8
	TTL    uint8
	xflags uint32
}

func (m *TTL) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := ttlX6.Parse(o.Name, invert, m.xflags)
	if err != nil {
		return err
	}
	v, err := ParseUintOpt("ttl", e.Name, arg, 0, 255)
	if err != nil {
		return err
	}
	m.TTL = uint8(v)
	switch e.ID {
	case ttlOptEQ:
		m.Mode = TTLEq
		if invert {
			m.Mode = TTLNe
		}
	case ttlOptLT:
		m.Mode = TTLLt
	case ttlOptGT:
		m.Mode = TTLGt
	}
	m.xflags |= 1 << e.ID
	return nil
}

// Final is the x6 checks, then ttl_check.
func (m *TTL) Final(c *Ctx) error {
	if err := ttlX6.Final(m.xflags); err != nil {
		return err
	}
	if m.xflags == 0 {
		return Errorf("TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt")
	}
	return nil
}

func (m *TTL) Save(b *strings.Builder, c *Ctx) {
	switch m.Mode {
	case TTLEq:
		b.WriteString(" --ttl-eq")
	case TTLNe:
		b.WriteString(" ! --ttl-eq")
	case TTLLt:
		b.WriteString(" --ttl-lt")
	case TTLGt:
		b.WriteString(" --ttl-gt")
	}
	fmt.Fprintf(b, " %d", m.TTL)
}

func (m *TTL) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" TTL match ")
	switch m.Mode {
	case TTLEq:
		b.WriteString("TTL ==")
	case TTLNe:
		b.WriteString("TTL !=")
	case TTLLt:
		b.WriteString("TTL <")
	case TTLGt:
		b.WriteString("TTL >")
	}
	fmt.Fprintf(b, " %d", m.TTL)
}

// Match is xt_hl's ttl_mt (ipt_ttl): the IPv4 TTL compared as the mode
// says (the inversion is the TTLNe mode).
func (m *TTL) Match(p *Pkt) bool {
	switch m.Mode {
	case TTLEq:
		return p.TTL == m.TTL
	case TTLNe:
		return p.TTL != m.TTL
	case TTLLt:
		return p.TTL < m.TTL
	case TTLGt:
		return p.TTL > m.TTL
	}
	return false
}
