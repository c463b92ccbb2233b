package xt

import (
	"strings"

	"github.com/nfgo/nfgo/nat"
)

// MASQUERADE: -j MASQUERADE [--to-ports port[-port]] [--random]
// [--random-fully]  (libxt_NAT, IPv4 revision 0, struct
// nf_nat_ipv4_multi_range_compat). The kernel allows it in the nat table
// only, from POSTROUTING. A shifted range "a-b/c" is accepted (SNAT_fcheck
// does not refuse it) but the compat structure has no base port, so it
// reads back as "a-b/0", as in iptables.

var masqueradeTarget = Def{
	Conntrack: true,
	Name:      "MASQUERADE",
	Kind:      KindTarget,
	Family:    FamilyIPv4,
	Options: []Option{
		{Name: "to-ports", Arg: true},
		{Name: "random"},
		{Name: "random-fully"},
	},
	New:   func() Ext { return &Masquerade{} },
	Table: "nat",
	Hooks: MaskPost,
}

// Masquerade is struct nf_nat_ipv4_multi_range_compat.
type Masquerade struct {
	NATIPv4MultiRange
}

func (m *Masquerade) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	return natParseCompat(c, o, arg, &m.NATIPv4MultiRange)
}

// Final is SNAT_fcheck.
func (m *Masquerade) Final(c *Ctx) error {
	m.RangeSize = 1
	return nil
}

func (m *Masquerade) Save(b *strings.Builder, c *Ctx) {
	r := m.range2()
	natPrint(b, &r, "--to-ports ", "--", true)
}

func (m *Masquerade) Print(b *strings.Builder, c *Ctx, numeric bool) {
	r := m.range2()
	natPrint(b, &r, "masq ports: ", "", true)
}

// StoreSave is Save with a base port the rule store can read back (see
// storeRange2).
func (m *Masquerade) StoreSave(b *strings.Builder, c *Ctx) {
	r := m.storeRange2()
	natPrint(b, &r, "--to-ports ", "--", true)
}

// Target is nf_nat_masquerade_ipv4: SNAT to the address the outgoing
// device would pick towards the next hop (inet_select_addr), chosen for
// each new connection.
func (m *Masquerade) Target(p *Pkt) Verdict {
	if p.Conn == nil {
		return VerdictAccept
	}
	// A source of 0.0.0.0: a local packet not meant to be masqueraded.
	if p.Conn.Tuple(0).Src == 0 {
		return VerdictAccept
	}
	var src uint32
	ok := false
	if p.Env != nil && p.Env.MasqSource != nil {
		src, ok = p.Env.MasqSource(p.OutIface, p.Dst)
	}
	if !ok {
		// "%s ate my IP address"
		return VerdictDrop
	}
	r := m.natRange()
	r.Flags |= nat.RangeMapIPs
	r.MinAddr, r.MaxAddr = src, src
	return natSetup(p, &r, nat.Src)
}
