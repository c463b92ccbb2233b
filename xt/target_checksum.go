package xt

import "strings"

// CHECKSUM: -j CHECKSUM --checksum-fill  (libxt_CHECKSUM, struct
// xt_CHECKSUM_info). The kernel allows it in the mangle table only. Hosts
// running VMs use it to complete the checksums of DHCP replies whose
// checksum a virtual device would otherwise leave partial.

var checksumTarget = Def{
	Name:    "CHECKSUM",
	Kind:    KindTarget,
	Options: []Option{{Name: "checksum-fill", Flags: OptMand}},
	New:     func() Ext { return &ChecksumTarget{} },
	Table:   "mangle",
}

// ChecksumTarget is struct xt_CHECKSUM_info (operation XT_CHECKSUM_OP_FILL).
type ChecksumTarget struct {
	Fill bool
}

func (t *ChecksumTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	t.Fill = true
	return nil
}

func (t *ChecksumTarget) Final(c *Ctx) error { return nil }

// Check is checksum_tg_check: an operation is required. Its warning
// ("CHECKSUM should be avoided...") goes to the kernel log once, and
// refuses nothing.
func (t *ChecksumTarget) Check(c *Ctx) error {
	if !t.Fill {
		return EINVAL("xt_CHECKSUM: no operation")
	}
	return nil
}

func (t *ChecksumTarget) Save(b *strings.Builder, c *Ctx) {
	if t.Fill {
		b.WriteString(" --checksum-fill")
	}
}

func (t *ChecksumTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" CHECKSUM")
	if t.Fill {
		b.WriteString(" fill")
	}
}

// Target is checksum_tg: a partial checksum (the kernel's
// CHECKSUM_PARTIAL, which a gateway's TUN offload hands over) is completed,
// except on a GSO super-packet, whose segments get theirs when cut. A
// packet from a capture is complete already and passes unchanged.
func (t *ChecksumTarget) Target(p *Pkt) Verdict {
	if p.CsumPartial && p.GSOSize == 0 {
		p.FinishPartial()
	}
	return VerdictContinue
}
