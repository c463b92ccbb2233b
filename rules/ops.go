package rules

import (
	"fmt"
	"io"
	"sort"

	"github.com/nfgo/nfgo/xt"
)

// OpError is a refusal from the table layer (libiptc or the kernel), shown
// by iptables as "iptables: MSG." and exit status 1.
type OpError struct {
	Msg   string
	Dmesg string // non-empty: "Run `dmesg' for more information." is added
}

func (e *OpError) Error() string { return e.Msg }

// Messages as iptables-legacy prints them (checked against the kernel).
var (
	ErrNoChain       = &OpError{Msg: "No chain/target/match by that name"}
	ErrChainExists   = &OpError{Msg: "Chain already exists"}
	ErrBadRule       = &OpError{Msg: "Bad rule (does a matching rule exist in that chain?)"}
	ErrNotEmpty      = &OpError{Msg: "Directory not empty"}
	ErrReferenced    = &OpError{Msg: "Too many links"}
	ErrFileExists    = &OpError{Msg: "File exists"}
	ErrBadBuiltin    = &OpError{Msg: "Bad built-in chain name"}
	ErrLoop          = &OpError{Msg: "Too many levels of symbolic links"}
	errIndexInsert   = &OpError{Msg: "Index of insertion too big"}
	errIndexReplace  = &OpError{Msg: "Index of replacement too big"}
	errIndexDelete   = &OpError{Msg: "Index of deletion too big"}
	errIndexCounter  = &OpError{Msg: "Index of counter too big"}
	errInvalidArg    = &OpError{Msg: "Invalid argument", Dmesg: "invalid argument"}
	errBadPolicyName = &OpError{Msg: "Bad policy name", Dmesg: "bad policy"}
)

// Apply carries out a parsed rule or chain command on table t (already
// initialised in rs). Listing commands write to out. The caller commits
// (checks and publishes) t afterwards if Apply reports a change.
func Apply(rs *Ruleset, t *Table, p *Parsed, out io.Writer) (changed bool, err error) {
	chainOf := func() (*Chain, error) {
		c := t.Chain(p.Chain)
		if c == nil {
			return nil, ErrNoChain
		}
		return c, nil
	}
	expand := func() []*Rule {
		if len(p.Srcs) == 1 && len(p.Dsts) == 1 {
			r := p.Rule
			r.IP.Src, r.IP.SrcMask = p.Srcs[0].Addr, p.Srcs[0].Mask
			r.IP.Dst, r.IP.DstMask = p.Dsts[0].Addr, p.Dsts[0].Mask
			return []*Rule{r}
		}
		var rs []*Rule
		for _, s := range p.Srcs {
			for _, d := range p.Dsts {
				r := *p.Rule
				r.IP.Src, r.IP.SrcMask = s.Addr, s.Mask
				r.IP.Dst, r.IP.DstMask = d.Addr, d.Mask
				rs = append(rs, &r)
			}
		}
		return rs
	}
	verbose := func(r *Rule) {
		if p.Options&OptVerbose != 0 {
			io.WriteString(out, PrintRuleVerbose(rs.Family, t.Name, r))
		}
	}
	switch p.Command {
	case CmdAppend:
		c, err := chainOf()
		if err != nil {
			return false, err
		}
		for _, r := range expand() {
			verbose(r)
			c.Rules = append(c.Rules, r)
		}
		return true, nil
	case CmdInsert:
		c, err := chainOf()
		if err != nil {
			return false, err
		}
		idx := p.RuleNum - 1
		for _, r := range expand() {
			verbose(r)
			if idx > len(c.Rules) {
				return false, errIndexInsert
			}
			c.Rules = append(c.Rules, nil)
			copy(c.Rules[idx+1:], c.Rules[idx:])
			c.Rules[idx] = r
		}
		return true, nil
	case CmdReplace:
		c, err := chainOf()
		if err != nil {
			return false, err
		}
		r := expand()[0]
		verbose(r)
		if p.RuleNum-1 >= len(c.Rules) {
			return false, errIndexReplace
		}
		c.Rules[p.RuleNum-1] = r
		return true, nil
	case CmdDelete, CmdCheck:
		c, err := chainOf()
		if err != nil {
			return false, err
		}
		for _, r := range expand() {
			verbose(r)
			want := r.SaveText(ctxFor(rs.Family, t.Name, r))
			found := -1
			for i, x := range c.Rules {
				if x.SaveText(ctxFor(rs.Family, t.Name, x)) == want {
					found = i
					break
				}
			}
			if found < 0 {
				// With a target that is not a standard verdict (an
				// extension or a user chain), libiptc's target mapping
				// leaves ENOENT reported without the delete/check
				// wording (checked against the kernel).
				if r.Target != nil || r.Jump != "" && !IsStandardTarget(r.Jump) {
					return false, ErrNoChain
				}
				return false, ErrBadRule
			}
			if p.Command == CmdDelete {
				c.Rules = append(c.Rules[:found], c.Rules[found+1:]...)
			}
		}
		return p.Command == CmdDelete, nil
	case CmdDeleteNum:
		c, err := chainOf()
		if err != nil {
			return false, err
		}
		if p.RuleNum-1 >= len(c.Rules) {
			return false, errIndexDelete
		}
		c.Rules = append(c.Rules[:p.RuleNum-1], c.Rules[p.RuleNum:]...)
		return true, nil
	case CmdFlush:
		if p.ChainGiven {
			c, err := chainOf()
			if err != nil {
				return false, err
			}
			if p.Options&OptVerbose != 0 {
				fmt.Fprintf(out, "Flushing chain `%s'\n", c.Name)
			}
			c.Rules = nil
			return true, nil
		}
		for _, c := range t.Chains {
			if p.Options&OptVerbose != 0 {
				fmt.Fprintf(out, "Flushing chain `%s'\n", c.Name)
			}
			c.Rules = nil
		}
		return true, nil
	case CmdZero:
		return true, zero(t, p.Chain, p.ChainGiven, p.Options&OptVerbose != 0, out)
	case CmdZeroNum:
		c, err := chainOf()
		if err != nil {
			return false, err
		}
		if p.RuleNum > len(c.Rules) {
			return false, errIndexCounter
		}
		c.Rules[p.RuleNum-1].Counters = Counters{}
		return true, nil
	case CmdList, CmdList | CmdZero, CmdList | CmdZeroNum:
		if p.ChainGiven && t.Chain(p.Chain) == nil {
			return false, ErrNoChain
		}
		ListEntries(out, rs, t, p.Chain, p.RuleNum, ListOptions{
			Verbose:     p.Options&OptVerbose != 0,
			Numeric:     p.Options&OptNumeric != 0,
			Expanded:    p.Options&OptExpanded != 0,
			LineNumbers: p.Options&OptLineNumbers != 0,
		})
		return zeroAfterList(t, p, out)
	case CmdListRules, CmdListRules | CmdZero, CmdListRules | CmdZeroNum:
		if p.ChainGiven && t.Chain(p.Chain) == nil {
			return false, ErrNoChain
		}
		ListRules(out, rs, t, p.Chain, p.RuleNum, p.Options&OptVerbose != 0)
		return zeroAfterList(t, p, out)
	case CmdNewChain:
		if t.Chain(p.Chain) != nil {
			return false, ErrChainExists
		}
		addUserChain(t, &Chain{Name: p.Chain})
		return true, nil
	case CmdDeleteChain:
		if p.ChainGiven {
			return true, deleteChain(t, p.Chain)
		}
		var names []string
		for _, c := range t.Chains {
			if !c.Builtin {
				names = append(names, c.Name)
			}
		}
		var last error
		for _, n := range names {
			if p.Options&OptVerbose != 0 {
				fmt.Fprintf(out, "Deleting chain `%s'\n", n)
			}
			if err := deleteChain(t, n); err != nil {
				last = err
			}
		}
		// No user chain: libiptc changed nothing and commits nothing.
		return len(names) > 0, last
	case CmdRenameChain:
		c := t.Chain(p.Chain)
		if t.Chain(p.NewName) != nil {
			return false, ErrFileExists
		}
		// libiptc's TC_RENAME_CHAIN: a built-in chain is ENOENT too.
		if c == nil || c.Builtin {
			return false, ErrNoChain
		}
		old := c.Name
		removeChain(t, old)
		c.Name = p.NewName
		addUserChain(t, c)
		for _, ch := range t.Chains {
			for _, r := range ch.Rules {
				if r.Target == nil && r.Jump == old {
					r.Jump = p.NewName
					r.saved = ""
				}
			}
		}
		return true, nil
	case CmdSetPolicy:
		c := t.Chain(p.Chain)
		if c == nil || !c.Builtin {
			return false, ErrBadBuiltin
		}
		if p.Policy != VerdictAccept && p.Policy != VerdictDrop {
			return false, errBadPolicyName
		}
		c.Policy = p.Policy
		if p.Options&OptCounters != 0 {
			c.Counters = p.Rule.Counters
		}
		return true, nil
	}
	return false, nil
}

func zeroAfterList(t *Table, p *Parsed, out io.Writer) (bool, error) {
	if p.Command&CmdZero != 0 {
		return true, zero(t, p.Chain, p.ChainGiven, p.Options&OptVerbose != 0, out)
	}
	if p.Command&CmdZeroNum != 0 {
		c := t.Chain(p.Chain)
		if c == nil {
			return false, ErrNoChain
		}
		if p.RuleNum > len(c.Rules) {
			return false, errIndexCounter
		}
		c.Rules[p.RuleNum-1].Counters = Counters{}
		return true, nil
	}
	return false, nil
}

func zero(t *Table, chain string, given, verbose bool, out io.Writer) error {
	found := false
	for _, c := range t.Chains {
		if given && c.Name != chain {
			continue
		}
		found = true
		if verbose {
			fmt.Fprintf(out, "Zeroing chain `%s'\n", c.Name)
		}
		c.Counters = Counters{}
		for _, r := range c.Rules {
			r.Counters = Counters{}
		}
	}
	if !found {
		return ErrNoChain
	}
	return nil
}

// addUserChain inserts a user chain keeping libiptc's order: built-in
// chains first, then user chains sorted by name.
func addUserChain(t *Table, c *Chain) {
	t.chainsChanged()
	t.Chains = append(t.Chains, c)
	first := 0
	for first < len(t.Chains) && t.Chains[first].Builtin {
		first++
	}
	user := t.Chains[first:]
	sort.SliceStable(user, func(i, j int) bool { return user[i].Name < user[j].Name })
}

func removeChain(t *Table, name string) {
	t.chainsChanged()
	for i, c := range t.Chains {
		if c.Name == name {
			t.Chains = append(t.Chains[:i], t.Chains[i+1:]...)
			return
		}
	}
}

func deleteChain(t *Table, name string) error {
	c := t.Chain(name)
	if c == nil {
		return ErrNoChain
	}
	if c.Builtin {
		return errInvalidArg
	}
	if t.References(name) > 0 {
		return ErrReferenced
	}
	if len(c.Rules) > 0 {
		return ErrNotEmpty
	}
	removeChain(t, name)
	return nil
}

// ResolveJump checks a rule's -j/-g name against the table as do_command4
// does: a chain or a standard verdict becomes a standard target.
func ResolveJump(t *Table, p *Parsed) error {
	if p.Command&(CmdAppend|CmdDelete|CmdCheck|CmdInsert|CmdReplace) == 0 {
		return nil
	}
	if p.Rule.Target != nil {
		if t.Chain(p.JumpTo) != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("Warning: using chain %s, not extension", p.JumpTo))
			p.Rule.Target = nil
			p.Rule.Jump = p.JumpTo
		}
		return nil
	}
	name := p.JumpTo
	if name == "" || IsStandardTarget(name) || t.Chain(name) != nil {
		p.Rule.Jump = name
		return nil
	}
	if p.Rule.Goto {
		return xt.Errorf("goto '%s' is not a chain", name)
	}
	return unsupportedError("target", name)
}
