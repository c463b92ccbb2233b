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
// each rule is reachable from, and reports a jump loop as ELOOP. Rules after
// an unconditional verdict are not reachable along that path.
func Reachability(t *Table) (map[*Rule]xt.HookMask, map[*Chain]xt.HookMask, error) {
	rules := map[*Rule]xt.HookMask{}
	chains := map[*Chain]xt.HookMask{}
	for _, c := range t.Chains {
		if !c.Builtin {
			continue
		}
		hook := c.Hook
		visited := map[*Chain]bool{}
		onPath := map[*Chain]bool{}
		var walk func(c *Chain) bool
		walk = func(c *Chain) bool {
			if onPath[c] {
				return false
			}
			if visited[c] {
				return true
			}
			visited[c] = true
			onPath[c] = true
			chains[c] |= hook.Mask()
			for _, r := range c.Rules {
				rules[r] |= hook.Mask()
				if r.endsChain() {
					break
				}
				if r.Target == nil && r.Jump != "" && !IsStandardTarget(r.Jump) {
					if tc := t.Chain(r.Jump); tc != nil && !walk(tc) {
						return false
					}
				}
			}
			onPath[c] = false
			return true
		}
		if !walk(c) {
			return nil, nil, ErrLoop
		}
	}
	return rules, chains, nil
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
	reach, _, err := Reachability(t)
	if err != nil {
		return err
	}
	for _, c := range t.Chains {
		if c.Builtin && c.Policy != VerdictAccept && c.Policy != VerdictDrop {
			return errBadPolicyName
		}
		for _, r := range c.Rules {
			if r.Target == nil && r.Jump != "" && !IsStandardTarget(r.Jump) {
				if tc := t.Chain(r.Jump); tc == nil {
					return ErrNoChain
				} else if tc.Builtin {
					return errInvalidArg
				}
			}
			hooks := reach[r]
			ctx := ctxFor(family, t.Name, r)
			ctx.Hooks = hooks
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
				return &OpError{Msg: ke.Errno, Dmesg: ke.Dmesg}
			}
			return err
		}
	}
	return nil
}
