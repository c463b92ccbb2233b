package xt

import "strings"

// DNAT: -j DNAT --to-destination [ip[-ip]][:port[-port[/port]]] [--random]
// [--persistent]  (libxt_NAT, IPv4 revision 2, struct nf_nat_range2: the
// revision iptables 1.8.9 uses with a current kernel; it supports the
// shifted port range "/base" and has no final check). The kernel allows it
// in the nat table only, from PREROUTING and OUTPUT.

var dnatTarget = Def{
	Conntrack: true,
	Name:      "DNAT",
	Kind:      KindTarget,
	Family:    FamilyIPv4,
	Revision:  2,
	Options: []Option{
		{Name: "to-destination", Arg: true, Flags: OptMand},
		{Name: "random"},
		{Name: "persistent"},
	},
	New:   func() Ext { return &DNAT{} },
	Table: "nat",
	Hooks: MaskPre | MaskOut,
}

// DNAT is struct nf_nat_range2.
type DNAT struct {
	NATRange2
}

// Parse is DNAT_parse_v2.
func (d *DNAT) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	if o.Name == "to-destination" {
		return natParseTo(arg, natPortOK(c), &d.NATRange2)
	}
	natParseFlag(o.Name, &d.NATRange2)
	return nil
}

func (d *DNAT) Final(c *Ctx) error { return nil }

func (d *DNAT) Save(b *strings.Builder, c *Ctx) {
	natPrint(b, &d.NATRange2, "--to-destination ", "--", false)
}

func (d *DNAT) Print(b *strings.Builder, c *Ctx, numeric bool) {
	natPrint(b, &d.NATRange2, "to:", "", false)
}
