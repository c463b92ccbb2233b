package xt

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// TTL: -j TTL --ttl-set N | --ttl-dec N | --ttl-inc N  (libipt_TTL,
// struct ipt_TTL_info). The kernel allows it in the mangle table only.

var ttlTgX6 = X6Table{Ext: "TTL", Entries: []X6Entry{
	{Name: "ttl-set", ID: ttlTgOptSet, Arg: true, Excl: 7},
	{Name: "ttl-dec", ID: ttlTgOptDec, Arg: true, Excl: 7},
	{Name: "ttl-inc", ID: ttlTgOptInc, Arg: true, Excl: 7},
}}

const (
	ttlTgOptSet = TTLSet
	ttlTgOptInc = TTLInc
	ttlTgOptDec = TTLDec
)

var ttlTarget = Def{
	Name:    "TTL",
	Kind:    KindTarget,
	Family:  FamilyIPv4,
	Options: ttlTgX6.Options(),
	New:     func() Ext { return &TTLTarget{} },
	Table:   "mangle",
}

// TTL target modes (IPT_TTL_SET, _INC, _DEC).
const (
	TTLSet = 0
	TTLInc = 1
	TTLDec = 2
)

// TTLTarget is struct ipt_TTL_info.
type TTLTarget struct {
	Mode   uint8
	TTL    uint8
	xflags uint32
}

func (t *TTLTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := ttlTgX6.Parse(o.Name, invert, t.xflags)
	if err != nil {
		return err
	}
	min := uint64(1) // XTTYPE_UINT8 with .min = 1 for inc and dec
	if e.ID == ttlTgOptSet {
		min = 0
	}
	v, err := ParseUintOpt("TTL", e.Name, arg, min, 255)
	if err != nil {
		return err
	}
	t.TTL = uint8(v)
	t.Mode = uint8(e.ID) // the option ids are the IPT_TTL_* modes
	t.xflags |= 1 << e.ID
	return nil
}

// Final is the x6 checks, then TTL_check.
func (t *TTLTarget) Final(c *Ctx) error {
	if err := ttlTgX6.Final(t.xflags); err != nil {
		return err
	}
	if t.xflags == 0 {
		return Errorf("TTL: You must specify an action")
	}
	return nil
}

// Check is ttl_tg_check.
func (t *TTLTarget) Check(c *Ctx) error {
	if t.Mode > TTLDec || (t.Mode != TTLSet && t.TTL == 0) {
		return EINVAL("xt_HL: invalid TTL mode or value")
	}
	return nil
}

func (t *TTLTarget) Save(b *strings.Builder, c *Ctx) {
	b.WriteString([]string{" --ttl-set", " --ttl-inc", " --ttl-dec"}[t.Mode%3])
	fmt.Fprintf(b, " %d", t.TTL)
}

func (t *TTLTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString([]string{" TTL set to", " TTL increment by", " TTL decrement by"}[t.Mode%3])
	fmt.Fprintf(b, " %d", t.TTL)
}

// Target is xt_HL's ttl_tg: the new TTL, saturating at 0 and 255, written
// with the header checksum updated only when it changes. A TTL brought to
// 0 or 1 in PREROUTING makes the forward path answer "time exceeded".
func (t *TTLTarget) Target(p *Pkt) Verdict {
	ttl := int(p.B[8])
	n := ttl
	switch t.Mode {
	case TTLSet:
		n = int(t.TTL)
	case TTLInc:
		n = min(ttl+int(t.TTL), 255)
	case TTLDec:
		n = max(ttl-int(t.TTL), 0)
	}
	if n != ttl {
		p.setTTL(uint8(n))
	}
	return VerdictContinue
}

// setTTL writes the TTL and updates the header checksum (csum_replace2 on
// the 16-bit word the TTL shares with the protocol).
func (p *Pkt) setTTL(n uint8) {
	b := p.B
	packet.CsumReplace2(b[10:12], uint16(b[8])<<8, uint16(n)<<8)
	b[8] = n
	p.TTL = n
}
