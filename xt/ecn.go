package xt

import (
	"fmt"
	"strings"
)

// ecn: -m ecn [!] --ecn-tcp-cwr [!] --ecn-tcp-ece [!] --ecn-ip-ect N
// (libxt_ecn, struct xt_ecn_info): the IP header's ECN codepoint and the
// TCP header's ECE and CWR flags.

var ecnX6 = X6Table{Ext: "ecn", Entries: []X6Entry{
	{Name: "ecn-tcp-cwr", ID: ecnOptCWR, Flags: OptInvert, Excl: 1 << ecnOptCWR},
	{Name: "ecn-tcp-ece", ID: ecnOptECE, Flags: OptInvert, Excl: 1 << ecnOptECE},
	{Name: "ecn-ip-ect", ID: ecnOptECT, Arg: true, Flags: OptInvert, Excl: 1 << ecnOptECT},
}}

const (
	ecnOptCWR = 0
	ecnOptECE = 1
	ecnOptECT = 2
)

// XT_ECN_OP_MATCH_* bits, in Operation and Invert.
const (
	ECNMatchIP  = 0x01
	ECNMatchECE = 0x10
	ECNMatchCWR = 0x20
)

var ecnMatch = Def{
	Name:    "ecn",
	Kind:    KindMatch,
	Options: ecnX6.Options(),
	New:     func() Ext { return &ECN{} },
}

// ECN is struct xt_ecn_info.
type ECN struct {
	Operation, Invert uint8
	IPECT             uint8
	xflags            uint32
}

func (m *ECN) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := ecnX6.Parse(o.Name, invert, m.xflags)
	if err != nil {
		return err
	}
	var bit uint8
	switch e.ID {
	case ecnOptCWR:
		bit = ECNMatchCWR
	case ecnOptECE:
		bit = ECNMatchECE
	case ecnOptECT:
		bit = ECNMatchIP
		v, err := ParseUintOpt("ecn", e.Name, arg, 0, 3)
		if err != nil {
			return err
		}
		m.IPECT = uint8(v)
	}
	m.Operation |= bit
	if invert {
		m.Invert |= bit
	}
	m.xflags |= 1 << e.ID
	return nil
}

// Final is ecn_check.
func (m *ECN) Final(c *Ctx) error {
	if m.xflags == 0 {
		return Errorf("ECN match: some option required")
	}
	return nil
}

// Check is ecn_mt_check4 (and ecn_mt_check6, the same test): the TCP
// flags only on a rule for TCP.
func (m *ECN) Check(c *Ctx) error {
	if m.Operation&(ECNMatchECE|ECNMatchCWR) != 0 && (c.Proto != 6 || c.ProtoInv) {
		return EINVAL("xt_ecn: cannot match TCP bits for non-tcp packets")
	}
	return nil
}

func (m *ECN) Save(b *strings.Builder, c *Ctx) {
	for _, x := range []struct {
		bit  uint8
		name string
	}{{ECNMatchECE, "--ecn-tcp-ece"}, {ECNMatchCWR, "--ecn-tcp-cwr"}, {ECNMatchIP, "--ecn-ip-ect"}} {
		if m.Operation&x.bit == 0 {
			continue
		}
		if m.Invert&x.bit != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" " + x.name)
		if x.bit == ECNMatchIP {
			fmt.Fprintf(b, " %d", m.IPECT)
		}
	}
}

func (m *ECN) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" ECN match")
	not := func(bit uint8) string {
		if m.Invert&bit != 0 {
			return "!"
		}
		return ""
	}
	if m.Operation&ECNMatchECE != 0 {
		b.WriteString(" " + not(ECNMatchECE) + "ECE")
	}
	if m.Operation&ECNMatchCWR != 0 {
		b.WriteString(" " + not(ECNMatchCWR) + "CWR")
	}
	if m.Operation&ECNMatchIP != 0 {
		fmt.Fprintf(b, " %sECT=%d", not(ECNMatchIP), m.IPECT)
	}
}

// Match is ecn_mt4: the codepoint (the TOS byte's low two bits), then
// the TCP flags, each inverted on its own. The flags are read where the
// TCP header would be even in a non-first fragment, as the kernel reads
// them; a packet too short for a TCP header does not match.
func (m *ECN) Match(p *Pkt) bool {
	if m.Operation&ECNMatchIP != 0 && (p.TOS&3 == m.IPECT) == (m.Invert&ECNMatchIP != 0) {
		return false
	}
	if m.Operation&(ECNMatchECE|ECNMatchCWR) == 0 {
		return true
	}
	if len(p.B) < p.IHL+20 {
		return false
	}
	flags := p.B[p.IHL+13]
	for _, bit := range []uint8{ECNMatchECE, ECNMatchCWR} {
		if m.Operation&bit == 0 {
			continue
		}
		set := flags&(bit<<2) != 0 // ECE is 0x40, CWR 0x80
		if set == (m.Invert&bit != 0) {
			return false
		}
	}
	return true
}
