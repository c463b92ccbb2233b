// Package offline loads what the offline tools (replay, rst) run on: a
// ruleset in iptables-save format or the rule store's, sets in ipset save
// format or the store's, and a host description from `ip -j addr show`
// and `ip -j route show`.
package offline

import (
	"fmt"
	"io"
	"os"

	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/internal/setlink"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/store"
	"github.com/nfgo/nfgo/xt"
)

// LoadRules loads the ruleset (rulesFile, or the store in stateDir when
// empty) after making the sets (ipsetsFile, or the store's) the ones its
// set rules name. prog names the tool in restore errors.
func LoadRules(rulesFile, ipsetsFile, stateDir, prog string) (*rules.Ruleset, error) {
	dir := stateDir
	if dir == "" {
		dir = store.Dir()
	}
	setDir := dir
	if ipsetsFile != "" {
		data, err := os.ReadFile(ipsetsFile)
		if err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp("", "nfgo-offline-sets")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := os.WriteFile(setlink.SetsFile(tmp), data, 0o600); err != nil {
			return nil, err
		}
		setDir = tmp
	}
	xt.LookupSet = setlink.LookupFrom(setDir)
	reg, err := setlink.Registry(setDir)
	if err != nil {
		return nil, fmt.Errorf("sets: %v", err)
	}
	xt.Sets = reg
	if rulesFile == "" {
		s, err := store.Open(dir)
		if err != nil {
			return nil, err
		}
		return s.Load(xt.FamilyIPv4)
	}
	f, err := os.Open(rulesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs := rules.NewRuleset(xt.FamilyIPv4)
	if _, err := rules.Restore(rs, f, rules.RestoreOptions{Counters: true, Prog: prog}, io.Discard); err != nil {
		return nil, fmt.Errorf("%s: %v", rulesFile, err)
	}
	return rs, nil
}

// LoadHost loads the host description; the interfaces are required.
func LoadHost(hostFile, routesFile string, forwarding bool) (*host.Host, error) {
	if hostFile == "" {
		return nil, fmt.Errorf("--host FILE is needed: the host's interfaces, as \"ip -j addr show\" prints them")
	}
	addr, err := os.ReadFile(hostFile)
	if err != nil {
		return nil, err
	}
	var routes []byte
	if routesFile != "" {
		if routes, err = os.ReadFile(routesFile); err != nil {
			return nil, err
		}
	}
	return host.Load(addr, routes, forwarding)
}
