// Package rules owns the ruleset model (tables, chains, rules), the iptables
// command-line grammar, iptables-save and -L printers, the iptables-restore
// parser and the checks the kernel makes when a table is committed.
//
// A Ruleset is a value: every change works on a copy (Clone) and is
// published whole, so a reader never sees half a change.
package rules

import (
	"strings"

	"github.com/nfgo/nfgo/xt"
)

// Standard verdict names.
const (
	VerdictAccept = "ACCEPT"
	VerdictDrop   = "DROP"
	VerdictReturn = "RETURN"
	VerdictQueue  = "QUEUE"
)

// IsStandardTarget reports whether name is a built-in verdict.
func IsStandardTarget(name string) bool {
	switch name {
	case VerdictAccept, VerdictDrop, VerdictReturn, VerdictQueue:
		return true
	}
	return false
}

// Inversion flags of the IP header match (struct ipt_ip invflags).
const (
	InvViaIn  = 0x01
	InvViaOut = 0x02
	InvSrcIP  = 0x08
	InvDstIP  = 0x10
	InvFrag   = 0x20
	InvProto  = 0x40
)

// IPHeader is the standard match every rule has (struct ipt_ip).
type IPHeader struct {
	Src, SrcMask xt.IPv4
	Dst, DstMask xt.IPv4
	InIface      string // as typed, "+" suffix is a wildcard
	OutIface     string
	Proto        uint8
	Frag         bool
	Inv          uint8
}

// Counters are a rule's or policy's packet and byte counts.
type Counters struct {
	Packets, Bytes uint64
}

// Rule is one rule of a chain.
type Rule struct {
	IP       IPHeader
	Matches  []*xt.Instance
	Target   *xt.Instance // an extension target, or nil
	Jump     string       // standard verdict or chain name when Target is nil ("" = none)
	Goto     bool
	Counters Counters

	// saved caches the rule's iptables-save text (after "-A CHAIN") when
	// it is also its store form; "" when unknown. Rules are not changed
	// after they are built, except a jump renamed with its chain, which
	// clears it.
	saved string
}

// hasStoreSaver reports whether any of the rule's extensions writes a
// store form of its own.
func hasStoreSaver(r *Rule) bool {
	for _, m := range r.Matches {
		if _, ok := m.Ext.(xt.StoreSaver); ok {
			return true
		}
	}
	if r.Target != nil {
		if _, ok := r.Target.Ext.(xt.StoreSaver); ok {
			return true
		}
	}
	return false
}

// TargetName is what -L shows in the target column.
func (r *Rule) TargetName() string {
	if r.Target != nil {
		// An alias (NOTRACK) shows the kernel's target name (CT).
		if k, ok := r.Target.Ext.(xt.KernelNamer); ok {
			return k.KernelName()
		}
		return r.Target.Def.Name
	}
	return r.Jump
}

// Chain is a built-in or user-defined chain.
type Chain struct {
	Name     string
	Builtin  bool
	Hook     xt.Hook // for built-in chains
	Policy   string  // built-in chains only
	Counters Counters
	Rules    []*Rule
}

// Table is one of raw, mangle, nat, filter, security.
type Table struct {
	Name   string
	Chains []*Chain // built-ins first in hook order, then user chains sorted by name

	index map[string]*Chain // lookup cache, dropped whenever Chains changes
}

// Chain finds a chain by name.
func (t *Table) Chain(name string) *Chain {
	if len(t.Chains) < 8 {
		for _, c := range t.Chains {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	if t.index == nil {
		t.index = make(map[string]*Chain, len(t.Chains))
		for _, c := range t.Chains {
			t.index[c.Name] = c
		}
	}
	return t.index[name]
}

// chainsChanged drops the lookup cache after Chains or a name changed.
func (t *Table) chainsChanged() { t.index = nil }

// CommitPolicyCounters gives the built-in chains' policies the counters
// a legacy commit leaves them, for a table a command changed: libiptc
// reads a policy's counters as "zeroed" (COUNTER_MAP_ZEROED) and hands
// the kernel only what it counted between the read and the commit, so
// every change of a table (a rule appended, a chain flushed, even a
// policy set to what it was) starts its policies from 0. A policy that
// iptables-restore set keeps what it was given (COUNTER_MAP_SET): those
// chains are in set. The rules keep their counters (COUNTER_MAP_NORMAL_MAP).
func (t *Table) CommitPolicyCounters(set map[string]bool) {
	for _, c := range t.Chains {
		if c.Builtin && !set[c.Name] {
			c.Counters = Counters{}
		}
	}
}

// Ruleset is the whole IPv4 or IPv6 configuration.
type Ruleset struct {
	Family xt.Family
	// Tables in the order the kernel lists them (/proc/net/ip_tables_names):
	// the most recently initialised first.
	Tables []*Table
}

// NewRuleset returns an empty ruleset (no table initialised yet).
func NewRuleset(f xt.Family) *Ruleset { return &Ruleset{Family: f} }

// Table returns the table if initialised.
func (rs *Ruleset) Table(name string) *Table {
	for _, t := range rs.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// EnsureTable initialises a built-in table on first use, as loading its
// kernel module does.
func (rs *Ruleset) EnsureTable(name string) (*Table, bool) {
	if t := rs.Table(name); t != nil {
		return t, true
	}
	spec := BuiltinTable(name)
	if spec == nil {
		return nil, false
	}
	t := &Table{Name: name}
	for _, h := range spec.Hooks {
		t.Chains = append(t.Chains, &Chain{Name: HookChainName[h], Builtin: true, Hook: h, Policy: VerdictAccept})
	}
	rs.Tables = append([]*Table{t}, rs.Tables...)
	return t, true
}

// Clone copies the ruleset deeply enough that changing the copy's tables,
// chains, rules and counters leaves the original untouched. Extension
// instances are immutable once built and are shared.
func (rs *Ruleset) Clone() *Ruleset {
	n := &Ruleset{Family: rs.Family, Tables: make([]*Table, len(rs.Tables))}
	for i, t := range rs.Tables {
		n.Tables[i] = t.Clone()
	}
	return n
}

// Clone copies a table.
func (t *Table) Clone() *Table {
	nt := &Table{Name: t.Name, Chains: make([]*Chain, len(t.Chains))}
	for i, c := range t.Chains {
		nc := *c
		nc.Rules = make([]*Rule, len(c.Rules))
		for j, r := range c.Rules {
			nr := *r
			nc.Rules[j] = &nr
		}
		nt.Chains[i] = &nc
	}
	return nt
}

// References counts the rules jumping or going to chain name.
func (t *Table) References(name string) int {
	n := 0
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if r.Target == nil && r.Jump == name {
				n++
			}
		}
	}
	return n
}

// TableSpec describes a built-in table.
type TableSpec struct {
	Name  string
	Hooks []xt.Hook
}

// HookChainName names the built-in chain of each hook.
var HookChainName = [xt.NumHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

var builtinTables = []TableSpec{
	{"filter", []xt.Hook{xt.HookLocalIn, xt.HookForward, xt.HookLocalOut}},
	{"nat", []xt.Hook{xt.HookPreRouting, xt.HookLocalIn, xt.HookLocalOut, xt.HookPostRouting}},
	{"mangle", []xt.Hook{xt.HookPreRouting, xt.HookLocalIn, xt.HookForward, xt.HookLocalOut, xt.HookPostRouting}},
	{"raw", []xt.Hook{xt.HookPreRouting, xt.HookLocalOut}},
	{"security", []xt.Hook{xt.HookLocalIn, xt.HookForward, xt.HookLocalOut}},
}

// BuiltinTable returns the spec of a known table, or nil.
func BuiltinTable(name string) *TableSpec {
	for i := range builtinTables {
		if builtinTables[i].Name == name {
			return &builtinTables[i]
		}
	}
	return nil
}

// SaveText renders the rule the way iptables-save prints it after "-A CHAIN"
// (leading space included). Rules compare by this text for -D and -C.
func (r *Rule) SaveText(c *xt.Ctx) string {
	var b strings.Builder
	writeRuleSave(&b, r, c)
	return b.String()
}
