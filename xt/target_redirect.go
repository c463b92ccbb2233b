package xt

import (
	"strings"

	"github.com/nfgo/nfgo/nat"
)

// REDIRECT: -j REDIRECT [--to-ports port[-port]] [--random]  (libxt_NAT,
// IPv4 revision 0, struct nf_nat_ipv4_multi_range_compat). The kernel
// allows it in the nat table only, from PREROUTING and OUTPUT.

var redirectTarget = Def{
	Conntrack: true,
	Name:      "REDIRECT",
	Kind:      KindTarget,
	Family:    FamilyIPv4,
	Options: []Option{
		{Name: "to-ports", Arg: true},
		{Name: "random"},
	},
	New:   func() Ext { return &Redirect{} },
	Table: "nat",
	Hooks: MaskPre | MaskOut,
}

// Redirect is struct nf_nat_ipv4_multi_range_compat.
type Redirect struct {
	NATIPv4MultiRange
}

func (r *Redirect) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	return natParseCompat(c, o, arg, &r.NATIPv4MultiRange)
}

// Final is DNAT_fcheck (revision 0): no shifted port ranges.
func (r *Redirect) Final(c *Ctx) error {
	r.RangeSize = 1
	if r.Range[0].Flags&NATRangeProtoOffset != 0 {
		return Errorf("Shifted portmap ranges not supported with this kernel")
	}
	return nil
}

func (r *Redirect) Save(b *strings.Builder, c *Ctx) {
	rg := r.range2()
	natPrint(b, &rg, "--to-ports ", "--", true)
}

func (r *Redirect) Print(b *strings.Builder, c *Ctx, numeric bool) {
	rg := r.range2()
	natPrint(b, &rg, "redir ports ", "", true)
}

// Target is nf_nat_redirect_ipv4: DNAT to the incoming device's first
// address (127.0.0.1 for locally generated packets), ports as given.
func (r *Redirect) Target(p *Pkt) Verdict {
	var dst uint32
	if p.Hook == HookLocalOut {
		dst = 0x7F000001
	} else {
		ok := false
		if p.Env != nil && p.Env.IfaceAddr != nil {
			dst, ok = p.Env.IfaceAddr(p.InIface)
		}
		if !ok || dst == 0 {
			return VerdictDrop
		}
	}
	rg := r.natRange()
	rg.Flags |= nat.RangeMapIPs
	rg.MinAddr, rg.MaxAddr = dst, dst
	return natSetup(p, &rg, nat.Dst)
}
