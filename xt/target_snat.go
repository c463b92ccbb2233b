package xt

import (
	"strings"

	"github.com/nfgo/nfgo/nat"
)

// SNAT: -j SNAT --to-source [ip[-ip]][:port[-port]] [--random]
// [--random-fully] [--persistent]  (libxt_NAT, IPv4 revision 0, struct
// nf_nat_ipv4_multi_range_compat). The kernel allows it in the nat table
// only, from POSTROUTING and INPUT.

var snatTarget = Def{
	Conntrack: true,
	Name:      "SNAT",
	Kind:      KindTarget,
	Family:    FamilyIPv4,
	Options: []Option{
		{Name: "to-source", Arg: true, Flags: OptMand},
		{Name: "random"},
		{Name: "random-fully"},
		{Name: "persistent"},
	},
	New:   func() Ext { return &SNAT{} },
	Table: "nat",
	Hooks: MaskPost | MaskIn,
}

// SNAT is struct nf_nat_ipv4_multi_range_compat.
type SNAT struct {
	NATIPv4MultiRange
}

func (s *SNAT) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	return natParseCompat(c, o, arg, &s.NATIPv4MultiRange)
}

// Final is SNAT_fcheck.
func (s *SNAT) Final(c *Ctx) error {
	s.RangeSize = 1
	return nil
}

func (s *SNAT) Save(b *strings.Builder, c *Ctx) {
	r := s.range2()
	natPrint(b, &r, "--to-source ", "--", false)
}

func (s *SNAT) Print(b *strings.Builder, c *Ctx, numeric bool) {
	r := s.range2()
	natPrint(b, &r, "to:", "", false)
}

// StoreSave is Save with a base port the rule store can read back (see
// storeRange2).
func (s *SNAT) StoreSave(b *strings.Builder, c *Ctx) {
	r := s.storeRange2()
	natPrint(b, &r, "--to-source ", "--", false)
}

// Target is xt_snat_target_v0: the connection's source binding.
func (s *SNAT) Target(p *Pkt) Verdict {
	r := s.natRange()
	return natSetup(p, &r, nat.Src)
}
