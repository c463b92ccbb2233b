package rules

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/xt"
)

// unconditional is the kernel's unconditional(): no IP header conditions
// and no matches.
func (r *Rule) unconditional() bool {
	return r.IP == (IPHeader{}) && len(r.Matches) == 0
}

// endsChain reports whether the kernel's mark_source_chains stops walking
// the chain at r: an unconditional standard verdict.
func (r *Rule) endsChain() bool {
	return r.Target == nil && r.unconditional() && IsStandardTarget(r.Jump)
}

// Reachability computes, as the kernel's mark_source_chains does, the hooks
// each chain is reachable from, and reports a jump loop as ELOOP. The
// kernel's walk of a chain always stops at its first unconditional
// verdict, so a chain's rules up to that one share the chain's hooks and
// the rules after it are unreachable: Reach gives the index of that last
// reachable rule.
type Reach struct {
	Hooks map[*Chain]xt.HookMask
	Last  map[*Chain]int // index of the last rule the walk reaches
}

// RuleHooks returns the hooks rule i of chain c is reachable from.
func (r *Reach) RuleHooks(c *Chain, i int) xt.HookMask {
	if i > r.Last[c] {
		return 0
	}
	return r.Hooks[c]
}

// Reachability walks the table from each built-in chain.
func Reachability(t *Table) (*Reach, error) {
	byName := make(map[string]*Chain, len(t.Chains))
	for _, c := range t.Chains {
		byName[c.Name] = c
	}
	re := &Reach{Hooks: map[*Chain]xt.HookMask{}, Last: map[*Chain]int{}}
	for _, c := range t.Chains {
		last := len(c.Rules) - 1
		for i, r := range c.Rules {
			if r.endsChain() {
				last = i
				break
			}
		}
		re.Last[c] = last
	}
	for _, c := range t.Chains {
		if !c.Builtin {
			continue
		}
		hook := c.Hook
		state := map[*Chain]uint8{} // 1 on the current path, 2 done
		var walk func(c *Chain) bool
		walk = func(c *Chain) bool {
			switch state[c] {
			case 1:
				return false
			case 2:
				return true
			}
			state[c] = 1
			re.Hooks[c] |= hook.Mask()
			for _, r := range c.Rules[:re.Last[c]+1] {
				if r.Target == nil && r.Jump != "" && !IsStandardTarget(r.Jump) {
					if tc := byName[r.Jump]; tc != nil && !walk(tc) {
						return false
					}
				}
			}
			state[c] = 2
			return true
		}
		if !walk(c) {
			return nil, ErrLoop
		}
	}
	return re, nil
}

var hookNames = [xt.NumHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// HookMaskString formats hooks as the kernel's textify_hooks: "INPUT/OUTPUT".
func HookMaskString(m xt.HookMask) string {
	var parts []string
	for h := xt.Hook(0); h < xt.NumHooks; h++ {
		if m&h.Mask() != 0 {
			parts = append(parts, hookNames[h])
		}
	}
	return strings.Join(parts, "/")
}

// CheckTable runs the kernel's checks on a table about to be committed:
// loops, and each extension's table, hook and protocol restrictions for
// the hooks its rule is reachable from.
func CheckTable(family xt.Family, t *Table) error {
	byName := make(map[string]*Chain, len(t.Chains))
	for _, c := range t.Chains {
		byName[c.Name] = c
	}
	// A jump to a built-in chain is EINVAL even where it would also make
	// a loop (checked against the kernel: "-A INPUT -j INPUT").
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if r.Target == nil && r.Jump != "" && !IsStandardTarget(r.Jump) {
				if tc := byName[r.Jump]; tc != nil && tc.Builtin {
					return errInvalidArg
				}
			}
		}
	}
	reach, err := Reachability(t)
	if err != nil {
		return err
	}
	ctx := &xt.Ctx{Family: family, Table: t.Name}
	for _, c := range t.Chains {
		if c.Builtin && c.Policy != VerdictAccept && c.Policy != VerdictDrop {
			return errBadPolicyName
		}
		for i, r := range c.Rules {
			if r.Target == nil && r.Jump != "" && !IsStandardTarget(r.Jump) {
				if tc := byName[r.Jump]; tc == nil {
					return ErrNoChain
				} else if tc.Builtin {
					return errInvalidArg
				}
			}
			if len(r.Matches) == 0 && r.Target == nil {
				continue
			}
			hooks := reach.RuleHooks(c, i)
			ctx.Proto, ctx.ProtoInv = r.IP.Proto, r.IP.Inv&InvProto != 0
			ctx.Hooks = hooks
			ctx.Matches = r.Matches
			ctx.Chain = c.Name
			for _, m := range r.Matches {
				if err := checkExt(m, ctx, r, hooks, "match"); err != nil {
					return err
				}
			}
			if r.Target != nil {
				if err := checkExt(r.Target, ctx, r, hooks, "target"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkExt(in *xt.Instance, ctx *xt.Ctx, r *Rule, hooks xt.HookMask, kind string) error {
	d := in.Def
	if d.Table != "" && d.Table != ctx.Table {
		return &OpError{Msg: "Invalid argument", Dmesg: fmt.Sprintf("x_tables: ip_tables: %s %s: only valid in %s table, not %s", d.Name, kind, d.Table, ctx.Table)}
	}
	if d.Hooks != 0 && hooks&^d.Hooks != 0 {
		return &OpError{Msg: "Invalid argument", Dmesg: fmt.Sprintf("x_tables: ip_tables: %s %s: used from hooks %s, but only usable from %s", d.Name, kind, HookMaskString(hooks), HookMaskString(d.Hooks))}
	}
	if d.Proto != 0 && (r.IP.Proto != d.Proto || r.IP.Inv&InvProto != 0) {
		return &OpError{Msg: "Invalid argument", Dmesg: fmt.Sprintf("x_tables: ip_tables: %s %s: only valid for protocol %d", d.Name, kind, d.Proto)}
	}
	if ch, ok := in.Ext.(xt.Checker); ok {
		if err := ch.Check(ctx); err != nil {
			if ke, ok := err.(*xt.KernelError); ok {
				// iptables adds the dmesg hint for EINVAL only.
				op := &OpError{Msg: ke.Errno}
				if ke.Errno == "Invalid argument" {
					op.Dmesg = ke.Dmesg
				}
				return op
			}
			return err
		}
	}
	return nil
}
