package xt

import (
	"fmt"
	"strings"
)

// TCPMSS: -j TCPMSS --set-mss value | --clamp-mss-to-pmtu  (libxt_TCPMSS,
// struct xt_tcpmss_info). The options do not exclude each other: the last
// one given wins. The kernel wants "-p tcp" and a tcp match on SYN
// (xt_TCPMSS's checkentry), and clamping only from FORWARD, OUTPUT and
// POSTROUTING.

var tcpmssTarget = Def{
	Name: "TCPMSS",
	Kind: KindTarget,
	Options: []Option{
		{Name: "set-mss", Arg: true},
		{Name: "clamp-mss-to-pmtu"},
	},
	New:   func() Ext { return &TCPMSSInfo{} },
	Proto: 6,
}

// TCPMSSClampPMTU is XT_TCPMSS_CLAMP_PMTU.
const TCPMSSClampPMTU = 0xffff

// TCPMSSInfo is struct xt_tcpmss_info.
type TCPMSSInfo struct {
	MSS   uint16
	given bool
}

func (t *TCPMSSInfo) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "set-mss":
		// UINT16_MAX less the IP header: 20 bytes (IPv4) or 40 (IPv6).
		max := uint64(0xFFFF - 20)
		if c.Family == FamilyIPv6 {
			max = 0xFFFF - 40
		}
		v, err := ParseUintOpt("TCPMSS", o.Name, arg, 0, max)
		if err != nil {
			return err
		}
		t.MSS = uint16(v)
	case "clamp-mss-to-pmtu":
		t.MSS = TCPMSSClampPMTU
	}
	t.given = true
	return nil
}

// Final is TCPMSS_check.
func (t *TCPMSSInfo) Final(c *Ctx) error {
	if !t.given {
		return Errorf("TCPMSS target: At least one parameter is required")
	}
	return nil
}

// Check is tcpmss_tg4_check: clamping needs a route (FORWARD, OUTPUT,
// POSTROUTING), and the rule must have a tcp match whose compared flags
// include SYN, not inverted.
func (t *TCPMSSInfo) Check(c *Ctx) error {
	if t.MSS == TCPMSSClampPMTU && c.Hooks&^(MaskFwd|MaskOut|MaskPost) != 0 {
		return EINVAL("xt_TCPMSS: path-MTU clamping only supported in FORWARD, OUTPUT and POSTROUTING hooks")
	}
	for _, m := range c.Matches {
		if m.Def.Name != "tcp" {
			continue
		}
		if tcp, ok := m.Ext.(*TCP); ok && tcp.FlgCmp&0x02 != 0 && tcp.Inv&TCPInvFlags == 0 {
			return nil
		}
	}
	return EINVAL("xt_TCPMSS: Only works on TCP SYN packets")
}

func (t *TCPMSSInfo) Save(b *strings.Builder, c *Ctx) {
	if t.MSS == TCPMSSClampPMTU {
		b.WriteString(" --clamp-mss-to-pmtu")
	} else {
		fmt.Fprintf(b, " --set-mss %d", t.MSS)
	}
}

func (t *TCPMSSInfo) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if t.MSS == TCPMSSClampPMTU {
		b.WriteString(" TCPMSS clamp to PMTU")
	} else {
		fmt.Fprintf(b, " TCPMSS set %d", t.MSS)
	}
}
