package xt

import (
	"fmt"
	"strings"
)

// DSCP: -j DSCP --set-dscp value | --set-dscp-class class  (libxt_DSCP,
// struct xt_DSCP_info). The kernel allows it in the mangle table only.

var dscpTarget = Def{
	Name: "DSCP",
	Kind: KindTarget,
	Options: []Option{
		{Name: "set-dscp", Arg: true, Excl: []string{"set-dscp-class"}},
		{Name: "set-dscp-class", Arg: true, Excl: []string{"set-dscp"}},
	},
	New:   func() Ext { return &DSCPTarget{} },
	Table: "mangle",
}

// DSCPTarget is struct xt_DSCP_info.
type DSCPTarget struct {
	DSCP  uint8
	given bool
}

func (d *DSCPTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "set-dscp":
		v, err := ParseUintOpt("DSCP", o.Name, arg, 0, DSCPMax)
		if err != nil {
			return err
		}
		d.DSCP = uint8(v)
	case "set-dscp-class":
		v, err := ClassToDSCP(arg)
		if err != nil {
			return err
		}
		d.DSCP = v
	}
	d.given = true
	return nil
}

// Final is DSCP_check.
func (d *DSCPTarget) Final(c *Ctx) error {
	if !d.given {
		return Errorf("DSCP target: Parameter --set-dscp is required")
	}
	return nil
}

// Check is dscp_tg_check.
func (d *DSCPTarget) Check(c *Ctx) error {
	if d.DSCP > DSCPMax {
		return &KernelError{Errno: "Numerical argument out of domain", Dmesg: fmt.Sprintf("xt_DSCP: dscp %x out of range", d.DSCP)}
	}
	return nil
}

func (d *DSCPTarget) Save(b *strings.Builder, c *Ctx) {
	fmt.Fprintf(b, " --set-dscp 0x%02x", d.DSCP)
}

func (d *DSCPTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	fmt.Fprintf(b, " DSCP set 0x%02x", d.DSCP)
}

// Target is dscp_tg: the DSCP bits replaced, the ECN bits kept, only when
// the DSCP changes.
func (d *DSCPTarget) Target(p *Pkt) Verdict {
	if p.B[1]>>2 != d.DSCP {
		p.SetTOS(0x03, d.DSCP<<2)
	}
	return VerdictContinue
}
