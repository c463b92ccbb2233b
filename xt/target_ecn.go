package xt

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// ECN: -j ECN --ecn-tcp-remove | [--ecn-tcp-cwr 0|1] [--ecn-tcp-ece 0|1]
// [--ecn-ip-ect 0..3]  (libipt_ECN, struct ipt_ECN_info). The kernel
// allows it in the mangle table only.

var ecnTgX6 = X6Table{Ext: "ECN", Entries: []X6Entry{
	{Name: "ecn-tcp-remove", ID: ecnTgOptRemove, Excl: 1<<ecnTgOptRemove | 1<<ecnTgOptCWR | 1<<ecnTgOptECE},
	{Name: "ecn-tcp-cwr", ID: ecnTgOptCWR, Arg: true, Excl: 1<<ecnTgOptCWR | 1<<ecnTgOptRemove},
	{Name: "ecn-tcp-ece", ID: ecnTgOptECE, Arg: true, Excl: 1<<ecnTgOptECE | 1<<ecnTgOptRemove},
	{Name: "ecn-ip-ect", ID: ecnTgOptECT, Arg: true, Excl: 1 << ecnTgOptECT},
}}

const (
	ecnTgOptRemove = 0
	ecnTgOptCWR    = 1
	ecnTgOptECE    = 2
	ecnTgOptECT    = 3
)

// IPT_ECN_OP_SET_* bits.
const (
	ECNSetIP  = 0x01
	ECNSetECE = 0x10
	ECNSetCWR = 0x20
)

var ecnTarget = Def{
	Name:    "ECN",
	Kind:    KindTarget,
	Family:  FamilyIPv4,
	Options: ecnTgX6.Options(),
	New:     func() Ext { return &ECNTarget{} },
	Table:   "mangle",
}

// ECNTarget is struct ipt_ECN_info.
type ECNTarget struct {
	Operation uint8
	IPECT     uint8
	ECE, CWR  uint8
	xflags    uint32
}

func (t *ECNTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := ecnTgX6.Parse(o.Name, invert, t.xflags)
	if err != nil {
		return err
	}
	var v uint64
	if e.Arg {
		max := uint64(1)
		if e.ID == ecnTgOptECT {
			max = 3
		}
		if v, err = ParseUintOpt("ECN", e.Name, arg, 0, max); err != nil {
			return err
		}
	}
	switch e.ID {
	case ecnTgOptRemove:
		// "=", not "|=": an --ecn-ip-ect before it is forgotten, as
		// libipt_ECN forgets it.
		t.Operation, t.ECE, t.CWR = ECNSetECE|ECNSetCWR, 0, 0
	case ecnTgOptCWR:
		t.Operation |= ECNSetCWR
		t.CWR = uint8(v)
	case ecnTgOptECE:
		t.Operation |= ECNSetECE
		t.ECE = uint8(v)
	case ecnTgOptECT:
		t.Operation |= ECNSetIP
		t.IPECT = uint8(v)
	}
	t.xflags |= 1 << e.ID
	return nil
}

// Final is the x6 checks, then ECN_check.
func (t *ECNTarget) Final(c *Ctx) error {
	if err := ecnTgX6.Final(t.xflags); err != nil {
		return err
	}
	if t.xflags == 0 {
		return Errorf("ECN target: An operation is required")
	}
	return nil
}

// Check is ecn_tg_check: the TCP flags only on a rule for TCP.
func (t *ECNTarget) Check(c *Ctx) error {
	if t.Operation&(ECNSetECE|ECNSetCWR) != 0 && (c.Proto != 6 || c.ProtoInv) {
		return EINVAL("ECN: cannot use operation on non-tcp rule")
	}
	return nil
}

func (t *ECNTarget) remove() bool {
	return t.Operation == ECNSetECE|ECNSetCWR && t.ECE == 0 && t.CWR == 0
}

// ECN's words in iptables-save and in -L: the removal, then ECE, CWR and
// the codepoint, as ECN_save and ECN_print write them.
var (
	ecnSaveWords  = [4]string{" --ecn-tcp-remove", " --ecn-tcp-ece %d", " --ecn-tcp-cwr %d", " --ecn-ip-ect %d"}
	ecnPrintWords = [4]string{" TCP remove", " ECE=%d", " CWR=%d", " ECT codepoint=%d"}
)

func (t *ECNTarget) write(b *strings.Builder, words *[4]string) {
	if t.remove() {
		b.WriteString(words[0])
		return
	}
	for i, x := range []struct {
		bit uint8
		v   uint8
	}{{ECNSetECE, t.ECE}, {ECNSetCWR, t.CWR}, {ECNSetIP, t.IPECT}} {
		if t.Operation&x.bit != 0 {
			fmt.Fprintf(b, words[i+1], x.v)
		}
	}
}

func (t *ECNTarget) Save(b *strings.Builder, c *Ctx) { t.write(b, &ecnSaveWords) }

func (t *ECNTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" ECN")
	t.write(b, &ecnPrintWords)
}

// Target is ecn_tg: the IP codepoint (header checksum updated), then, on
// a TCP packet, ECE and CWR, the TCP checksum updated unless it is partial
// (the flags are not in the pseudo header). Like the kernel, it writes
// where the TCP header would be even in a non-first fragment, and drops a
// TCP packet too short for one.
func (t *ECNTarget) Target(p *Pkt) Verdict {
	b := p.B
	if t.Operation&ECNSetIP != 0 && b[1]&3 != t.IPECT {
		old := b[1]
		b[1] = old&^3 | t.IPECT
		packet.CsumReplace2(b[10:12], uint16(old), uint16(b[1]))
		p.TOS = b[1]
	}
	if t.Operation&(ECNSetECE|ECNSetCWR) == 0 || p.Proto != packet.ProtoTCP {
		return VerdictContinue
	}
	th := p.IHL
	if len(b) < th+20 {
		return VerdictDrop
	}
	flags := b[th+13]
	nf := flags
	if t.Operation&ECNSetECE != 0 {
		nf = nf&^0x40 | t.ECE<<6
	}
	if t.Operation&ECNSetCWR != 0 {
		nf = nf&^0x80 | t.CWR<<7
	}
	if nf == flags {
		return VerdictContinue
	}
	old := uint16(b[th+12])<<8 | uint16(flags)
	b[th+13] = nf
	if !p.CsumPartial {
		packet.CsumReplace2(b[th+16:th+18], old, uint16(b[th+12])<<8|uint16(nf))
	}
	if p.L4Len >= 14 && p.FragOffset() == 0 {
		p.TCPFlags = nf
	}
	return VerdictContinue
}
