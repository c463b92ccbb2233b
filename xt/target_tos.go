package xt

import (
	"fmt"
	"strings"
)

// TOS: -j TOS --set-tos value[/mask] | symbol | --and-tos bits |
// --or-tos bits | --xor-tos bits  (libxt_TOS revision 1, struct
// xt_tos_target_info). Every option excludes every other and itself; all
// are saved as --set-tos value/mask. The kernel allows it in the mangle
// table only.

var tosTarget = Def{
	Name:     "TOS",
	Kind:     KindTarget,
	Revision: 1,
	Options: []Option{
		{Name: "set-tos", Arg: true, Excl: []string{"and-tos", "or-tos", "xor-tos"}},
		{Name: "and-tos", Arg: true, Excl: []string{"set-tos", "or-tos", "xor-tos"}},
		{Name: "or-tos", Arg: true, Excl: []string{"set-tos", "and-tos", "xor-tos"}},
		{Name: "xor-tos", Arg: true, Excl: []string{"set-tos", "and-tos", "or-tos"}},
	},
	New:   func() Ext { return &TOSTarget{} },
	Table: "mangle",
}

// TOSTarget is struct xt_tos_target_info.
type TOSTarget struct {
	TOSValue uint8
	TOSMask  uint8
	given    bool
}

// Parse is tos_tg_parse. --set-tos with a symbolic name takes the mask
// 0x3F (the option table's max), a number without mask 0xFF.
func (t *TOSTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	if o.Name == "set-tos" {
		v, m, err := ParseTOSMask(arg, 0x3F)
		if err != nil {
			return err
		}
		t.TOSValue, t.TOSMask = v, m
		t.given = true
		return nil
	}
	u, err := ParseUintOpt("TOS", o.Name, arg, 0, 0xFF)
	if err != nil {
		return err
	}
	bits := uint8(u)
	switch o.Name {
	case "and-tos":
		t.TOSValue, t.TOSMask = 0, ^bits
	case "or-tos":
		t.TOSValue, t.TOSMask = bits, bits
	case "xor-tos":
		t.TOSValue, t.TOSMask = bits, 0
	}
	t.given = true
	return nil
}

// Final is tos_tg_check.
func (t *TOSTarget) Final(c *Ctx) error {
	if !t.given {
		return Errorf("TOS: An action is required")
	}
	return nil
}

func (t *TOSTarget) Save(b *strings.Builder, c *Ctx) {
	fmt.Fprintf(b, " --set-tos 0x%02x/0x%02x", t.TOSValue, t.TOSMask)
}

// Print is tos_tg_print: a symbolic name when the mask is 0x3F (printed
// as " " + " TOS set" + name, hence two spaces and none before the name),
// else the and/or/xor form the value and mask describe.
func (t *TOSTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if numeric {
		fmt.Fprintf(b, " TOS set 0x%02x/0x%02x", t.TOSValue, t.TOSMask)
		return
	}
	if name, ok := tosSymbolic(t.TOSValue, t.TOSMask); ok {
		b.WriteString("  TOS set" + name)
		return
	}
	switch {
	case t.TOSValue == 0:
		fmt.Fprintf(b, " TOS and 0x%02x", ^t.TOSMask)
	case t.TOSValue == t.TOSMask:
		fmt.Fprintf(b, " TOS or 0x%02x", t.TOSValue)
	case t.TOSMask == 0:
		fmt.Fprintf(b, " TOS xor 0x%02x", t.TOSValue)
	default:
		fmt.Fprintf(b, " TOS set 0x%02x/0x%02x", t.TOSValue, t.TOSMask)
	}
}

// Target is xt_DSCP.c's tos_tg: tos = (tos & ^mask) ^ value, rewritten
// only when it changes.
func (t *TOSTarget) Target(p *Pkt) Verdict {
	orig := p.B[1]
	nv := orig&^t.TOSMask ^ t.TOSValue
	if orig != nv {
		p.SetTOS(0, nv)
	}
	return VerdictContinue
}
