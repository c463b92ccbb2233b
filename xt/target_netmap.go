package xt

import (
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/nat"
)

// NETMAP: -j NETMAP --to address[/mask]  (libipt_NETMAP, struct
// nf_nat_ipv4_multi_range_compat). The option is XTTYPE_HOSTMASK; the
// range is the network of the address. The kernel allows it in the nat
// table only (all four nat hooks).

var netmapTarget = Def{
	Conntrack: true,
	Name:      "NETMAP",
	Kind:      KindTarget,
	Family:    FamilyIPv4,
	Options: []Option{
		{Name: "to", Arg: true, Flags: OptMand},
	},
	New:   func() Ext { return &Netmap{NATIPv4MultiRange{RangeSize: 1}} },
	Table: "nat",
	Hooks: MaskPre | MaskIn | MaskOut | MaskPost,
}

// Netmap is struct nf_nat_ipv4_multi_range_compat.
type Netmap struct {
	NATIPv4MultiRange
}

func (n *Netmap) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	addr, mask, err := parseHostMask("NETMAP", o.Name, arg)
	if err != nil {
		return err
	}
	r := &n.Range[0]
	r.Flags |= NATRangeMapIPs
	r.MinIP = addr & mask
	r.MaxIP = r.MinIP | ^mask
	return nil
}

func (n *Netmap) Final(c *Ctx) error { return nil }

// Check is netmap_tg4_check.
func (n *Netmap) Check(c *Ctx) error {
	if n.Range[0].Flags&NATRangeMapIPs == 0 {
		return EINVAL("bad MAP_IPS.")
	}
	if n.RangeSize != 1 {
		return EINVAL("bad rangesize %d.", n.RangeSize)
	}
	return nil
}

// network is __NETMAP_print: "addr/bits", or "addr/mask" for a mask with
// holes.
func (n *Netmap) network() string {
	r := &n.Range[0]
	m := ^(r.MinIP ^ r.MaxIP)
	if l := MaskLen(m); l >= 0 {
		return r.MinIP.String() + "/" + strconv.Itoa(l)
	}
	return r.MinIP.String() + "/" + m.String()
}

func (n *Netmap) Save(b *strings.Builder, c *Ctx) {
	b.WriteString(" --to " + n.network())
}

func (n *Netmap) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" to:" + n.network())
}

// Target is netmap_tg4: the network part of the address replaced by the
// rule's network, host bits kept (the destination at PREROUTING and
// OUTPUT, the source at POSTROUTING and INPUT).
func (n *Netmap) Target(p *Pkt) Verdict {
	rg := n.natRange()
	mask := ^(rg.MinAddr ^ rg.MaxAddr)
	m := NATManip(p.Hook)
	a := p.Src
	if m == nat.Dst {
		a = p.Dst
	}
	a = a&^mask | rg.MinAddr&mask
	rg.Flags |= nat.RangeMapIPs
	rg.MinAddr, rg.MaxAddr = a, a
	return natSetup(p, &rg, m)
}
