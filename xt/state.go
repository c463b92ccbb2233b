package xt

import "strings"

// state: -m state [!] --state S[,S...]. In iptables 1.8.9 this is an alias
// of conntrack revision 3 (libxt_conntrack.c): the kernel gets a conntrack
// match with XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS, and save/-L
// print it back as "-m state --state ..." / "state ...".

var stateMatch = Def{
	Conntrack: true,
	Name:      "state",
	Kind:      KindMatch,
	Revision:  3,
	Options: []Option{
		{Name: "state", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &State{} },
}

// State is the conntrack match info the state alias fills in.
type State struct {
	Conntrack
}

func (s *State) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	m, err := ctParseList(arg, "state", ctStateNames, 5,
		"\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED")
	if err != nil {
		return err
	}
	s.MatchFlags = CtState | CtStateAlias
	s.StateMask = m
	if invert {
		s.InvertFlags |= CtState
	}
	return nil
}

func (s *State) Final(c *Ctx) error { return nil }

func (s *State) Save(b *strings.Builder, c *Ctx) { s.dump(b, "--", true) }

func (s *State) Print(b *strings.Builder, c *Ctx, numeric bool) { s.dump(b, "", numeric) }
