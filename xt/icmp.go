package xt

import (
	"fmt"
	"strings"
)

// icmp: -p icmp [!] --icmp-type {type[/code[:code]] | typename}
// (libipt_icmp, struct ipt_icmp).

var icmpMatch = Def{
	Name:   "icmp",
	Kind:   KindMatch,
	Family: FamilyIPv4,
	Proto:  1,
	Options: []Option{
		{Name: "icmp-type", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &ICMP{Type: 0xFF, Code: [2]uint8{0, 0xFF}} },
}

// ICMPInv is IPT_ICMP_INV.
const ICMPInv = 0x01

// ICMP is struct ipt_icmp.
type ICMP struct {
	Type     uint8
	Code     [2]uint8
	InvFlags uint8
}

// ICMPName is one entry of libxt_icmp.h's icmp_codes.
type ICMPName struct {
	Name             string
	Type             uint8
	CodeMin, CodeMax uint8
}

// ICMPCodes is libxt_icmp.h's icmp_codes table as 1.8.9 has it (1.8.13
// adds info-request and info-reply, which 1.8.9 refuses).
var ICMPCodes = []ICMPName{
	{"any", 0xFF, 0, 0xFF},
	{"echo-reply", 0, 0, 0xFF},
	{"pong", 0, 0, 0xFF},

	{"destination-unreachable", 3, 0, 0xFF},
	{"network-unreachable", 3, 0, 0},
	{"host-unreachable", 3, 1, 1},
	{"protocol-unreachable", 3, 2, 2},
	{"port-unreachable", 3, 3, 3},
	{"fragmentation-needed", 3, 4, 4},
	{"source-route-failed", 3, 5, 5},
	{"network-unknown", 3, 6, 6},
	{"host-unknown", 3, 7, 7},
	{"network-prohibited", 3, 9, 9},
	{"host-prohibited", 3, 10, 10},
	{"TOS-network-unreachable", 3, 11, 11},
	{"TOS-host-unreachable", 3, 12, 12},
	{"communication-prohibited", 3, 13, 13},
	{"host-precedence-violation", 3, 14, 14},
	{"precedence-cutoff", 3, 15, 15},

	{"source-quench", 4, 0, 0xFF},

	{"redirect", 5, 0, 0xFF},
	{"network-redirect", 5, 0, 0},
	{"host-redirect", 5, 1, 1},
	{"TOS-network-redirect", 5, 2, 2},
	{"TOS-host-redirect", 5, 3, 3},

	{"echo-request", 8, 0, 0xFF},
	{"ping", 8, 0, 0xFF},

	{"router-advertisement", 9, 0, 0xFF},

	{"router-solicitation", 10, 0, 0xFF},

	{"time-exceeded", 11, 0, 0xFF},
	{"ttl-exceeded", 11, 0, 0xFF},
	{"ttl-zero-during-transit", 11, 0, 0},
	{"ttl-zero-during-reassembly", 11, 1, 1},

	{"parameter-problem", 12, 0, 0xFF},
	{"ip-header-bad", 12, 0, 0},
	{"required-option-missing", 12, 1, 1},

	{"timestamp-request", 13, 0, 0xFF},

	{"timestamp-reply", 14, 0, 0xFF},

	{"address-mask-request", 17, 0, 0xFF},

	{"address-mask-reply", 18, 0, 0xFF},
}

// icmpParseRange is libxt_icmp.h's parse_range: "N" or "N:M", each 0-255;
// it returns what follows.
func icmpParseRange(s string) (r [2]uint64, rest string, ok bool) {
	v, rest, ok := XtablesStrtoul(s, 0, 255)
	if !ok {
		return r, rest, false
	}
	r[0], r[1] = v, v
	if strings.HasPrefix(rest, ":") {
		if r[1], rest, ok = XtablesStrtoul(rest[1:], 0, 255); !ok {
			return r, rest, false
		}
	}
	return r, rest, true
}

// ParseICMPType is __parse_icmp / __ipt_parse_icmp for a table of names:
// a unique case-insensitive prefix of a name, or type[:type][/code[:code]]
// (a type range is refused). kind is "ICMP" or "ICMPv6".
func ParseICMPType(codes []ICMPName, kind, s string) (typ uint8, code [2]uint8, err error) {
	match := -1
	for i := range codes {
		n := codes[i].Name
		if len(n) < len(s) || !StrCaseEqual(n[:len(s)], s) {
			continue
		}
		if match >= 0 {
			return 0, code, Errorf("Ambiguous %s type `%s': `%s' or `%s'?", kind, s, codes[match].Name, n)
		}
		match = i
	}
	if match >= 0 {
		m := codes[match]
		return m.Type, [2]uint8{m.CodeMin, m.CodeMax}, nil
	}
	types, next, ok := icmpParseRange(s)
	if !ok {
		return 0, code, Errorf("Unknown %s type `%s'", kind, s)
	}
	code = [2]uint8{0, 255}
	switch {
	case next == "":
	case next[0] == '/':
		cr, rest, ok := icmpParseRange(next[1:])
		if !ok {
			return 0, code, Errorf("Unknown %s code `%s'", kind, s)
		}
		code = [2]uint8{uint8(cr[0]), uint8(cr[1])}
		if rest != "" {
			return 0, code, Errorf("unknown character %c", rest[0])
		}
	default:
		return 0, code, Errorf("unknown character %c", next[0])
	}
	if types[0] != types[1] {
		return 0, code, Errorf("%s type range not supported", kind)
	}
	return uint8(types[0]), code, nil
}

func (m *ICMP) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	t, code, err := ParseICMPType(ICMPCodes, "ICMP", arg)
	if err != nil {
		return err
	}
	m.Type, m.Code = t, code
	if invert {
		m.InvFlags |= ICMPInv
	}
	return nil
}

func (m *ICMP) Final(c *Ctx) error { return nil }

// Save is icmp_save.
// 1.8.13: type 255 is saved as "any" only with the full code range, so
// "--icmp-type 255/255" stays "255/255"; 1.8.9 saves every type 255 as
// "any" (differential tests skip "icmp-type-255-code").
func (m *ICMP) Save(b *strings.Builder, c *Ctx) {
	if m.InvFlags&ICMPInv != 0 {
		b.WriteString(" !")
	}
	if m.Type == 0xFF && m.Code[0] == 0 && m.Code[1] == 0xFF {
		b.WriteString(" --icmp-type any")
		return
	}
	fmt.Fprintf(b, " --icmp-type %d", m.Type)
	if m.Code[0] != 0 || m.Code[1] != 0xFF {
		fmt.Fprintf(b, "/%d", m.Code[0])
	}
}

// PrintICMPType is print_icmptype: the name when not numeric and the
// type/codes have one, else "type T[ code C | codes A-B]" (without a
// leading space, so -L shows "icmptype 8").
func PrintICMPType(b *strings.Builder, codes []ICMPName, typ uint8, code [2]uint8, invert, numeric bool) {
	if !numeric {
		for _, n := range codes {
			if n.Type == typ && n.CodeMin == code[0] && n.CodeMax == code[1] {
				b.WriteByte(' ')
				if invert {
					b.WriteByte('!')
				}
				b.WriteString(n.Name)
				return
			}
		}
	}
	if invert {
		b.WriteString(" !")
	}
	fmt.Fprintf(b, "type %d", typ)
	if code[0] == code[1] {
		fmt.Fprintf(b, " code %d", code[0])
	} else if code[0] != 0 || code[1] != 0xFF {
		fmt.Fprintf(b, " codes %d-%d", code[0], code[1])
	}
}

func (m *ICMP) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" icmp")
	PrintICMPType(b, ICMPCodes, m.Type, m.Code, m.InvFlags&ICMPInv != 0, numeric)
}

// StoreSave writes the icmp match for the rule store. icmp_save prints
// only the first code of a range ("--icmp-type 3/1:5" saves as "3/1", and
// 1.8.9 saves any type 255 as "any"), so the saved form does not read back
// to the rule the kernel holds. iptables' own parser (__parse_icmp) takes
// "type/code:code" on input, so the store form is one iptables reads too:
// "any" for the default, "T" for the full code range, "T/C" for a single
// code and "T/A:B" otherwise (a reversed range included, as the kernel
// keeps it).
func (m *ICMP) StoreSave(b *strings.Builder, c *Ctx) {
	if m.InvFlags&ICMPInv != 0 {
		b.WriteString(" !")
	}
	full := m.Code[0] == 0 && m.Code[1] == 0xFF
	switch {
	case m.Type == 0xFF && full:
		b.WriteString(" --icmp-type any")
	case full:
		fmt.Fprintf(b, " --icmp-type %d", m.Type)
	case m.Code[0] == m.Code[1]:
		fmt.Fprintf(b, " --icmp-type %d/%d", m.Type, m.Code[0])
	default:
		fmt.Fprintf(b, " --icmp-type %d/%d:%d", m.Type, m.Code[0], m.Code[1])
	}
}

// Match is ip_tables' icmp_match (xt_tcpudp.c in 6.18): a non-first
// fragment never matches, a packet without the whole 8-byte ICMP header is
// dropped (hotdrop); type 255 ("any") matches every type and code, before
// the inversion.
func (m *ICMP) Match(p *Pkt) bool {
	if p.FragOffset() != 0 {
		return false
	}
	l4 := p.L4()
	if len(l4) < 8 {
		p.HotDrop = true
		return false
	}
	typ, code := l4[0], l4[1]
	in := m.Type == 0xFF || typ == m.Type && code >= m.Code[0] && code <= m.Code[1]
	return in != (m.InvFlags&ICMPInv != 0)
}
