package xt

// The extension tests' one way of parsing option words into an instance,
// as the iptables command line would ("!" inverts the next option), with
// the final checks. Shared by every *_test.go of this package.

// buildExt parses words ("!", "--opt", arg...) into an instance of d as the
// command line parser would, then runs Final.
func buildExt(d *Def, proto uint8, words ...string) (*Instance, *Ctx, error) {
	in := NewInstance(d)
	c := &Ctx{Family: FamilyIPv4, Table: "filter", Proto: proto}
	next := 0
	c.SetArgs(words, &next)
	invert := false
	for next < len(words) {
		w := words[next]
		next++
		if w == "!" {
			invert = true
			continue
		}
		idx := -1
		for i, o := range d.Options {
			if "--"+o.Name == w {
				idx = i
			}
		}
		if idx < 0 {
			return nil, nil, Errorf("unknown option %q", w)
		}
		arg, has := "", false
		if d.Options[idx].Arg && next < len(words) {
			arg, has = words[next], true
			next++
		}
		if err := in.ParseOption(c, idx, arg, has, invert); err != nil {
			return nil, nil, err
		}
		invert = false
	}
	return in, c, in.Final(c)
}
