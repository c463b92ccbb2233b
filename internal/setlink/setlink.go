// Package setlink connects the two halves of the rule store: iptables
// rules name ipsets (which must exist, as the kernel checks), and ipsets
// count the rules that name them (ipset list's "References:", and a set in
// use cannot be destroyed or renamed).
package setlink

import (
	"errors"
	"os"
	"path/filepath"

	sets "github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// SetsFile is the ipset state file in a store directory.
func SetsFile(dir string) string { return filepath.Join(dir, "ipset.save") }

// LookupFrom returns an xt.LookupSet function answering from the sets
// saved in the store directory dir (read once, on first use).
func LookupFrom(dir string) func(name string) (xt.Family, bool) {
	var reg *sets.Registry
	return func(name string) (xt.Family, bool) {
		if reg == nil {
			reg = sets.NewRegistry()
			if data, err := os.ReadFile(SetsFile(dir)); err == nil {
				if reg.LoadState(string(data)) != nil {
					reg = sets.NewRegistry()
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				return 0, false
			}
		}
		s := reg.Get(name)
		if s == nil {
			return 0, false
		}
		if s.Opts.Family == "inet6" {
			return xt.FamilyIPv6, true
		}
		return xt.FamilyIPv4, true
	}
}

// References counts, per set name, the rules of rs that name it.
func References(rs *rules.Ruleset) map[string]int {
	refs := map[string]int{}
	if rs == nil {
		return refs
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				for _, m := range r.Matches {
					if u, ok := m.Ext.(xt.SetUser); ok {
						for _, n := range u.SetNames() {
							refs[n]++
						}
					}
				}
				if r.Target != nil {
					if u, ok := r.Target.Ext.(xt.SetUser); ok {
						for _, n := range u.SetNames() {
							refs[n]++
						}
					}
				}
			}
		}
	}
	return refs
}

// Registry loads the sets saved in the store directory dir (empty if there
// are none).
func Registry(dir string) (*sets.Registry, error) {
	reg := sets.NewRegistry()
	data, err := os.ReadFile(SetsFile(dir))
	if errors.Is(err, os.ErrNotExist) {
		return reg, nil
	}
	if err != nil {
		return nil, err
	}
	if err := reg.LoadState(string(data)); err != nil {
		return nil, err
	}
	return reg, nil
}
