package xt

import (
	"strings"

	"github.com/nfgo/nfgo/nat"
)

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

// Target is xt_dnat_target_v2: the connection's destination binding.
func (d *DNAT) Target(p *Pkt) Verdict {
	r := nat.Range{Flags: d.Flags, MinAddr: uint32(d.MinAddr), MaxAddr: uint32(d.MaxAddr),
		MinProto: d.MinProto, MaxProto: d.MaxProto, BaseProto: d.BaseProto}
	return natSetup(p, &r, nat.Dst)
}
