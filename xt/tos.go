package xt

import (
	"fmt"
	"strings"
)

// tos: [!] --tos value[/mask] | symbol  (libxt_tos revision 1, struct
// xt_tos_match_info). The option is libxtables' XTTYPE_TOSMASK with a
// default mask of 0x3F for symbolic names.

var tosMatch = Def{
	Name:     "tos",
	Kind:     KindMatch,
	Revision: 1,
	Options: []Option{
		{Name: "tos", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &TOS{} },
}

// TOS is struct xt_tos_match_info.
type TOS struct {
	TOSMask  uint8
	TOSValue uint8
	Invert   uint8
}

// tosSymbols is tos_symbol_names (tos_values.c).
var tosSymbols = []struct {
	Value uint8
	Name  string
}{
	{0x10, "Minimize-Delay"},
	{0x08, "Maximize-Throughput"},
	{0x04, "Maximize-Reliability"},
	{0x02, "Minimize-Cost"},
	{0x00, "Normal-Service"},
}

// ParseTOSMask is libxtables' XTTYPE_TOSMASK parser: "value[/mask]" with
// numbers up to 0xFF (the mask defaulting to 0xFF), or a symbolic name
// (case-insensitive) with mask defMask.
func ParseTOSMask(arg string, defMask uint8) (value, mask uint8, err error) {
	v, rest, ok := XtablesStrtoul(arg, 0, 0xFF)
	if ok {
		value, mask = uint8(v), 0xFF
		if strings.HasPrefix(rest, "/") {
			m, r, ok := XtablesStrtoul(rest[1:], 0, 0xFF)
			if !ok {
				return 0, 0, Errorf("Illegal value: \"%s\"", arg)
			}
			mask, rest = uint8(m), r
		}
		if rest != "" {
			return 0, 0, Errorf("Illegal value: \"%s\"", arg)
		}
		return value, mask, nil
	}
	for _, s := range tosSymbols {
		if strings.EqualFold(arg, s.Name) {
			return s.Value, defMask, nil
		}
	}
	return 0, 0, Errorf("Symbolic name \"%s\" is unknown", arg)
}

// tosSymbolic is tos_try_print_symbolic: " Name" when the mask is 0x3F and
// the value has a name.
func tosSymbolic(value, mask uint8) (string, bool) {
	if mask != 0x3F {
		return "", false
	}
	for _, s := range tosSymbols {
		if s.Value == value {
			return s.Name, true
		}
	}
	return "", false
}

func (t *TOS) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	v, m, err := ParseTOSMask(arg, 0x3F)
	if err != nil {
		return err
	}
	t.TOSValue, t.TOSMask = v, m
	if invert {
		t.Invert = 1
	}
	return nil
}

func (t *TOS) Final(c *Ctx) error { return nil }

func (t *TOS) Save(b *strings.Builder, c *Ctx) {
	if t.Invert != 0 {
		b.WriteString(" !")
	}
	fmt.Fprintf(b, " --tos 0x%02x/0x%02x", t.TOSValue, t.TOSMask)
}

// Print is tos_mt_print: note there is no space between "match", the "!"
// and a numeric value (" tos match!0x0f/0x0f").
func (t *TOS) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" tos match")
	if t.Invert != 0 {
		b.WriteString("!")
	}
	if !numeric {
		if name, ok := tosSymbolic(t.TOSValue, t.TOSMask); ok {
			b.WriteString(" " + name)
			return
		}
	}
	fmt.Fprintf(b, "0x%02x/0x%02x", t.TOSValue, t.TOSMask)
}

// Match is tos_mt (IPv4): the TOS byte under the mask equals the value.
func (t *TOS) Match(p *Pkt) bool {
	return (p.TOS&t.TOSMask == t.TOSValue) != (t.Invert != 0)
}
