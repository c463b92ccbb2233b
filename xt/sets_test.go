package xt

import (
	"strings"
	"testing"
)

// The set and SET tests parse rules naming sets; until nfgo has ipset, the
// tests of this package pretend every set exists except those named
// "nosuch*", which stand for a missing one.
func init() {
	LookupSet = func(name string) (Family, bool) {
		if strings.HasPrefix(name, "nosuch") {
			return 0, false
		}
		if strings.HasPrefix(name, "v6") {
			return FamilyIPv6, true
		}
		return FamilyIPv4, true
	}
}

func TestMissingSet(t *testing.T) {
	for _, d := range []*Def{LookupMatch("set", FamilyIPv4), LookupTarget("SET")} {
		in := NewInstance(d)
		args := []string{"src"}
		next := 0
		c := NewCtx(args, &next)
		opt := 0
		for i, o := range d.Options {
			if o.Name == "match-set" || o.Name == "add-set" {
				opt = i
			}
		}
		err := in.ParseOption(c, opt, "nosuchset", true, false)
		if err == nil || err.Error() != "Set nosuchset doesn't exist.\n" {
			t.Errorf("%s: %v", d.Name, err)
		}
		err = NewInstance(d).ParseOption(c, opt, "v6set", true, false)
		if err == nil || !strings.Contains(err.Error(), "is IPv6, which is not applicable") {
			t.Errorf("%s v6: %v", d.Name, err)
		}
	}
}
