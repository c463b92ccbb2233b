package xt

import (
	"fmt"
	"strings"
)

// dscp: [!] --dscp value | [!] --dscp-class name  (libxt_dscp, struct
// xt_dscp_info).

var dscpMatch = Def{
	Name: "dscp",
	Kind: KindMatch,
	Options: []Option{
		{Name: "dscp", Arg: true, Flags: OptInvert, Excl: []string{"dscp-class"}},
		{Name: "dscp-class", Arg: true, Flags: OptInvert, Excl: []string{"dscp"}},
	},
	New: func() Ext { return &DSCP{} },
}

// DSCPMax is XT_DSCP_MAX.
const DSCPMax = 0x3f

// DSCP is struct xt_dscp_info.
type DSCP struct {
	DSCP   uint8
	Invert uint8
	given  bool
}

// DSCPClasses is ds_classes of dscp_helper.c, in its order.
var DSCPClasses = []struct {
	Name string
	DSCP uint8
}{
	{"CS0", 0x00}, {"CS1", 0x08}, {"CS2", 0x10}, {"CS3", 0x18},
	{"CS4", 0x20}, {"CS5", 0x28}, {"CS6", 0x30}, {"CS7", 0x38},
	{"BE", 0x00}, {"AF11", 0x0a}, {"AF12", 0x0c}, {"AF13", 0x0e},
	{"AF21", 0x12}, {"AF22", 0x14}, {"AF23", 0x16}, {"AF31", 0x1a},
	{"AF32", 0x1c}, {"AF33", 0x1e}, {"AF41", 0x22}, {"AF42", 0x24},
	{"AF43", 0x26}, {"EF", 0x2e},
}

// ClassToDSCP is class_to_dscp: the first class whose name is a
// case-insensitive prefix of name (so "AF41x" is AF41).
func ClassToDSCP(name string) (uint8, error) {
	for _, c := range DSCPClasses {
		if len(name) >= len(c.Name) && strings.EqualFold(name[:len(c.Name)], c.Name) {
			return c.DSCP, nil
		}
	}
	return 0, Errorf("Invalid DSCP value `%s'", name)
}

func (d *DSCP) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "dscp":
		v, err := ParseUintOpt("dscp", "dscp", arg, 0, DSCPMax)
		if err != nil {
			return err
		}
		d.DSCP = uint8(v)
	case "dscp-class":
		v, err := ClassToDSCP(arg)
		if err != nil {
			return err
		}
		d.DSCP = v
	}
	if invert {
		d.Invert = 1
	}
	d.given = true
	return nil
}

func (d *DSCP) Final(c *Ctx) error {
	if !d.given {
		return Errorf("DSCP match: Parameter --dscp is required")
	}
	return nil
}

func (d *DSCP) Save(b *strings.Builder, c *Ctx) {
	if d.Invert != 0 {
		b.WriteString(" !")
	}
	fmt.Fprintf(b, " --dscp 0x%02x", d.DSCP)
}

func (d *DSCP) Print(b *strings.Builder, c *Ctx, numeric bool) {
	inv := ""
	if d.Invert != 0 {
		inv = "!"
	}
	fmt.Fprintf(b, " DSCP match %s0x%02x", inv, d.DSCP)
}

// Match is dscp_mt: the upper six bits of the TOS byte (XT_DSCP_SHIFT 2).
func (d *DSCP) Match(p *Pkt) bool {
	return (p.TOS>>2 == d.DSCP) != (d.Invert != 0)
}
