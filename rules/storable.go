package rules

import (
	"strings"

	"github.com/nfgo/nfgo/xt"
)

// CheckStorable verifies that a rule survives the trip through the text
// store: its iptables-save line must parse back to a rule with the same
// saved and listed forms. The kernel keeps rules in binary and so never
// faces this; a few extensions print forms iptables-restore cannot read
// (an empty argument, a value save omits), and such a rule would corrupt
// or silently change the store. Those rules are refused with an error that
// says why, instead.
func CheckStorable(family xt.Family, table, chain string, r *Rule) error {
	ctx := ctxFor(family, table, r)
	var sb strings.Builder
	sb.WriteString("-A " + chain)
	writeRuleStore(&sb, r, ctx)
	line := sb.String()
	args := append([]string{"-t", table}, tokenizeRestoreLine(line)...)
	p, err := ParseCommand(args, family, true, "")
	// A line break inside a word cannot be written in iptables-restore's
	// line-based format at all.
	if err == nil && !strings.ContainsAny(line, "\n\r") {
		r2 := p.Rule
		if len(p.Srcs) > 0 {
			r2.IP.Src, r2.IP.SrcMask = p.Srcs[0].Addr, p.Srcs[0].Mask
		}
		if len(p.Dsts) > 0 {
			r2.IP.Dst, r2.IP.DstMask = p.Dsts[0].Addr, p.Dsts[0].Mask
		}
		if r2.Target == nil && r.Target == nil {
			r2.Jump = r.Jump
		}
		var sb2 strings.Builder
		sb2.WriteString("-A " + chain)
		writeRuleStore(&sb2, r2, ctx)
		if sb2.String() == line && listForm(family, table, r2) == listForm(family, table, r) {
			return nil
		}
	}
	return xt.OtherErrorf("nfgo: this rule cannot be kept in the rule store: it saves as `%s', which does not read back as the same rule", strings.TrimSpace(line))
}

// listForm is the rule as -L and -L -n show it (interfaces and counters
// aside: a lone "-i +" is saved as nothing, which matches the same
// packets).
func listForm(family xt.Family, table string, r *Rule) string {
	var b strings.Builder
	printRuleLine(&b, family, table, r, 1, fmtNumeric|fmtOptions|fmtNoCounts)
	printRuleLine(&b, family, table, r, 1, fmtOptions|fmtNoCounts)
	return b.String()
}

// CheckStorableName refuses a chain rename the text store cannot keep:
// iptables 1.8.9 checks new names with -N but not with -E, and the kernel
// takes an empty name, one with blanks or one of 29 to 31 characters
// (its label holds 32 bytes), but iptables-save then prints a chain line
// that iptables-restore refuses (checked in a namespace).
func CheckStorableName(p *Parsed) error {
	if p.Command&CmdRenameChain == 0 || (p.NewName != "" && len(p.NewName) <= maxChainName && !strings.ContainsAny(p.NewName, " \t\n\v\f\r")) {
		return nil
	}
	return xt.OtherErrorf("nfgo: a chain named `%s' cannot be kept in the rule store: iptables-save would print a line that iptables-restore refuses", p.NewName)
}

// maxChainName is the longest chain name iptables-restore takes
// (XT_EXTENSION_MAXNAMELEN less the NUL).
const maxChainName = 28
