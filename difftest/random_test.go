package difftest

import (
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/xt"
)

// Scenario b: randomly generated rules over every registered extension that
// has a generator (gen_test.go), added with -A and -I, replaced, deleted by
// number and by specification, among chain operations (-N -X -E -P -F -Z
// -C), in filter, nat, mangle and raw (and now and then security). The
// seed is fixed (NFGO_DIFFTEST_SEED overrides it, "random" picks one);
// NFGO_DIFFTEST_RULES sets the number of generated commands.

var builtinChains = map[string][]string{
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"raw":      {"PREROUTING", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

type randState struct {
	g        *gen
	p        *pair
	user     map[string][]string   // table → user chains
	count    map[string]int        // "table/chain" → rules (as the kernel has them)
	specs    map[string][][]string // "table/chain" → rule specs the kernel took
	matches  []string
	targets  []string
	chainSeq int
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *randState) fits(e extGen, table, chain, proto string) bool {
	if e.tables != nil && !contains(e.tables, table) {
		return false
	}
	if e.chains != nil && contains(builtinChains[table], chain) && !contains(e.chains, chain) {
		return false
	}
	if e.proto != nil && proto != "" && !contains(e.proto, proto) {
		return false
	}
	return true
}

// rule makes a rule specification for table; it returns the chain chosen.
func (s *randState) rule(table string) (chain string, spec []string) {
	g := s.g
	strict := !g.p(0.08) // sometimes ignore where extensions belong
	// Target first: it constrains the chain most.
	var target string
	var tgen extGen
	hasT := false
	if len(s.targets) > 0 && g.p(0.55) {
		for try := 0; try < 10; try++ {
			name := s.targets[g.n(len(s.targets))]
			e := targetGens[name]
			if !strict || e.tables == nil || contains(e.tables, table) {
				target, tgen, hasT = name, e, true
				break
			}
		}
	}
	// Chain.
	var cands []string
	for _, c := range builtinChains[table] {
		if !hasT || !strict || tgen.chains == nil || contains(tgen.chains, c) {
			cands = append(cands, c)
		}
	}
	if len(s.user[table]) > 0 && (len(cands) == 0 || g.p(0.25)) {
		cands = s.user[table]
	}
	if len(cands) == 0 {
		cands = builtinChains[table]
	}
	chain = cands[g.n(len(cands))]
	// Protocol.
	proto := ""
	if hasT && tgen.proto != nil {
		proto = tgen.proto[0]
	}
	// Matches.
	var ms []string
	for i, k := 0, g.n(3)+g.n(2); i < k && len(s.matches) > 0; i++ {
		name := s.matches[g.n(len(s.matches))]
		e := matchGens[name]
		if strict && !s.fits(e, table, chain, proto) {
			continue
		}
		if contains(ms, name) && !g.p(0.1) {
			continue
		}
		if e.proto != nil && proto == "" {
			proto = e.proto[g.n(len(e.proto))]
		}
		ms = append(ms, name)
	}
	if proto == "" && g.p(0.3) {
		proto = g.pick("tcp", "udp", "icmp", "all", "gre", "47", "sctp", "0", "esp")
	}
	if hasT && target == "REJECT" && proto == "" && g.p(0.3) {
		proto = "tcp"
	}
	rc := &ruleCtx{table: table, chain: chain, proto: proto}

	// Base options, in a random order.
	var base [][]string
	if g.p(0.3) {
		base = append(base, cat(g.inv(0.15), []string{g.pick("-s", "--source", "--src"), g.cidr()}))
	}
	if g.p(0.3) {
		base = append(base, cat(g.inv(0.15), []string{g.pick("-d", "--destination", "--dst"), g.cidr()}))
	}
	ifname := func() string {
		if g.p(bad) {
			return g.pick("averyveryverylongname0", "eth 0")
		}
		return g.pick("eth0", "eth+", "lo", "veth-a1", "br0", "wlan1", "ens3.100", "x")
	}
	builtin := contains(builtinChains[table], chain)
	if g.p(0.2) && (!builtin || !strict || contains(inChains, chain)) {
		base = append(base, cat(g.inv(0.15), []string{g.pick("-i", "--in-interface"), ifname()}))
	}
	if g.p(0.2) && (!builtin || !strict || contains(outChains, chain)) {
		base = append(base, cat(g.inv(0.15), []string{g.pick("-o", "--out-interface"), ifname()}))
	}
	if g.p(0.05) {
		base = append(base, cat(g.inv(0.3), []string{"-f"}))
	}
	g.r.Shuffle(len(base), func(i, j int) { base[i], base[j] = base[j], base[i] })
	for _, b := range base {
		spec = append(spec, b...)
	}
	if proto != "" {
		inv := proto != "all" && g.p(0.05)
		if inv && (hasT && tgen.proto != nil || len(ms) > 0) {
			inv = false
		}
		if inv {
			spec = append(spec, "!")
		}
		spec = append(spec, g.pick("-p", "--protocol"), proto)
	}
	for i, name := range ms {
		e := matchGens[name]
		implicit := i == 0 && proto != "" && (name == "tcp" || name == "udp" || name == "icmp") && g.p(0.5)
		if !implicit {
			spec = append(spec, g.pick("-m", "-m", "--match"), name)
		}
		spec = append(spec, e.opts(g, rc)...)
	}
	switch {
	case hasT:
		spec = append(spec, g.pick("-j", "-j", "--jump"), target)
		spec = append(spec, tgen.opts(g, rc)...)
	case g.p(0.2) && len(s.user[table]) > 0:
		spec = append(spec, g.pick("-j", "-g"), s.user[table][g.n(len(s.user[table]))])
	case g.p(0.75):
		spec = append(spec, "-j", g.pick("ACCEPT", "DROP", "RETURN", "ACCEPT", "DROP"))
	}
	return chain, spec
}

func (s *randState) tflag(table string) []string {
	if table == "filter" && s.g.p(0.5) {
		return nil
	}
	return []string{"-t", table}
}

// step runs one random command.
func (s *randState) step(table string) {
	g, p := s.g, s.p
	key := func(c string) string { return table + "/" + c }
	t := s.tflag(table)
	switch k := g.n(100); {
	case k < 60: // append
		chain, spec := s.rule(table)
		p.ipt(cat(t, []string{g.pick("-A", "--append"), chain}, spec)...)
		if p.last.Code == 0 {
			s.count[key(chain)]++
			s.specs[key(chain)] = append(s.specs[key(chain)], spec)
		}
	case k < 70: // insert
		chain, spec := s.rule(table)
		n := s.count[key(chain)]
		args := cat(t, []string{g.pick("-I", "--insert"), chain})
		if g.p(0.7) {
			args = append(args, fmt.Sprint(1+g.n(n+2)))
		}
		p.ipt(append(args, spec...)...)
		if p.last.Code == 0 {
			s.count[key(chain)]++
			s.specs[key(chain)] = append(s.specs[key(chain)], spec)
		}
	case k < 76: // replace
		chain, spec := s.rule(table)
		n := s.count[key(chain)]
		num := fmt.Sprint(1 + g.n(n+1))
		p.ipt(cat(t, []string{g.pick("-R", "--replace"), chain, num}, spec)...)
		if p.last.Code == 0 {
			s.specs[key(chain)] = append(s.specs[key(chain)], spec)
		}
	case k < 82: // delete by number
		chains := s.allChains(table)
		chain := chains[g.n(len(chains))]
		n := s.count[key(chain)]
		p.ipt(cat(t, []string{g.pick("-D", "--delete"), chain, fmt.Sprint(1 + g.n(n+1))})...)
		if p.last.Code == 0 {
			s.count[key(chain)]--
		}
	case k < 88: // delete or check by specification
		var chain string
		var spec []string
		if chains := s.withSpecs(table); len(chains) > 0 && g.p(0.8) {
			chain = chains[g.n(len(chains))]
			l := s.specs[key(chain)]
			spec = l[g.n(len(l))]
		} else {
			chain, spec = s.rule(table)
		}
		if g.p(0.3) {
			p.ipt(cat(t, []string{g.pick("-C", "--check"), chain}, spec)...)
		} else {
			p.ipt(cat(t, []string{"-D", chain}, spec)...)
			if p.last.Code == 0 {
				s.count[key(chain)]--
			}
		}
	case k < 91: // new chain
		s.chainSeq++
		name := fmt.Sprintf("r%d_%s", s.chainSeq, g.pick("x", "chain", "LOGDROP", "a-b", "Z.9"))
		if g.p(0.05) {
			name = g.pick("INPUT", "ACCEPT", "-bad", "averyveryverylongchainnamethatistoolong", "!x", "a b")
		}
		p.ipt(cat(t, []string{g.pick("-N", "--new-chain", "--new"), name})...)
		if p.last.Code == 0 {
			s.user[table] = append(s.user[table], name)
		}
	case k < 93: // delete chain
		if len(s.user[table]) == 0 {
			return
		}
		name := s.user[table][g.n(len(s.user[table]))]
		p.ipt(cat(t, []string{g.pick("-X", "--delete-chain"), name})...)
		if p.last.Code == 0 {
			s.dropChain(table, name)
		}
	case k < 95: // rename
		if len(s.user[table]) == 0 {
			return
		}
		old := s.user[table][g.n(len(s.user[table]))]
		s.chainSeq++
		name := fmt.Sprintf("ren%d", s.chainSeq)
		p.ipt(cat(t, []string{g.pick("-E", "--rename-chain"), old, name})...)
		if p.last.Code == 0 {
			for i, c := range s.user[table] {
				if c == old {
					s.user[table][i] = name
				}
			}
			s.count[key(name)] = s.count[key(old)]
			s.specs[key(name)] = s.specs[key(old)]
			delete(s.count, key(old))
			delete(s.specs, key(old))
		}
	case k < 97: // policy
		chains := s.allChains(table)
		p.ipt(cat(t, []string{g.pick("-P", "--policy"), chains[g.n(len(chains))], g.pick("ACCEPT", "DROP", "ACCEPT", "RETURN")})...)
	case k < 98: // flush
		chains := s.allChains(table)
		chain := chains[g.n(len(chains))]
		p.ipt(cat(t, []string{g.pick("-F", "--flush"), chain})...)
		if p.last.Code == 0 {
			s.count[key(chain)] = 0
			s.specs[key(chain)] = nil
		}
	default: // zero
		args := cat(t, []string{g.pick("-Z", "--zero")})
		if g.p(0.5) {
			chains := s.allChains(table)
			args = append(args, chains[g.n(len(chains))])
		}
		p.ipt(args...)
	}
}

func (s *randState) allChains(table string) []string {
	return append(append([]string(nil), builtinChains[table]...), s.user[table]...)
}

func (s *randState) withSpecs(table string) []string {
	var out []string
	for _, c := range s.allChains(table) {
		if len(s.specs[table+"/"+c]) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func (s *randState) dropChain(table, name string) {
	var keep []string
	for _, c := range s.user[table] {
		if c != name {
			keep = append(keep, c)
		}
	}
	s.user[table] = keep
	delete(s.count, table+"/"+name)
	delete(s.specs, table+"/"+name)
}

func TestRandom(t *testing.T) {
	requireNetns(t)
	seed := int64(20240601)
	if v := os.Getenv("NFGO_DIFFTEST_SEED"); v == "random" {
		seed = time.Now().UnixNano()
	} else if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("NFGO_DIFFTEST_SEED=%q: %v", v, err)
		}
		seed = n
	}
	total := 480
	if v := os.Getenv("NFGO_DIFFTEST_RULES"); v != "" {
		total, _ = strconv.Atoi(v)
	}
	t.Logf("random rules: seed %d, %d commands", seed, total)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random rules: seed %d; rerun with NFGO_DIFFTEST_SEED=%d go test ./difftest -run TestRandom -v", seed, seed)
		}
	})
	p := newPair(t, newScore(t, "b/random"))
	for _, set := range [][]string{
		{"gs_ip", "hash:ip"}, {"gs_net", "hash:net"}, {"gs_ipport", "hash:ip,port"}, {"gs_to", "hash:ip", "timeout", "300"},
	} {
		p.ns.MustRun(t, append([]string{"ipset", "create"}, set...)...)
		registerSet(append([]string{"create"}, set...))
	}
	s := &randState{
		g:     &gen{r: rand.New(rand.NewSource(seed))},
		p:     p,
		user:  map[string][]string{},
		count: map[string]int{},
		specs: map[string][][]string{},
	}
	var without []string
	seen := map[string]bool{}
	for _, d := range xt.Matches() {
		if seen["m"+d.Name] {
			continue
		}
		seen["m"+d.Name] = true
		if _, ok := matchGens[d.Name]; ok {
			s.matches = append(s.matches, d.Name)
		} else {
			without = append(without, "-m "+d.Name)
		}
	}
	for _, d := range xt.Targets() {
		if seen["j"+d.Name] {
			continue
		}
		seen["j"+d.Name] = true
		if _, ok := targetGens[d.Name]; ok {
			s.targets = append(s.targets, d.Name)
		} else {
			without = append(without, "-j "+d.Name)
		}
	}
	sort.Strings(s.matches)
	sort.Strings(s.targets)
	t.Logf("generating for matches %v and targets %v", s.matches, s.targets)
	if len(without) > 0 {
		t.Logf("registered but without a generator (not exercised): %s", strings.Join(without, ", "))
	}

	const batch = 60
	tables := []string{"filter", "nat", "mangle", "raw"}
	for done, b := 0, 0; done < total; b++ {
		// Some user chains to jump to, then commands on random tables.
		for _, table := range tables {
			for i := 0; i < 2; i++ {
				s.chainSeq++
				name := fmt.Sprintf("u%d", s.chainSeq)
				p.ipt("-t", table, "-N", name)
				if p.last.Code == 0 {
					s.user[table] = append(s.user[table], name)
				}
			}
		}
		for i := 0; i < batch && done < total; i, done = i+1, done+1 {
			table := tables[s.g.n(len(tables))]
			if s.g.p(0.02) {
				table = "security"
			}
			s.step(table)
		}
		p.listings()
		// Clean up: flush, delete chains, reset policies.
		for _, table := range p.tables {
			p.ipt("-t", table, "-F")
			p.ipt("-t", table, "-X")
			for _, c := range builtinChains[table] {
				p.ipt("-t", table, "-P", c, "ACCEPT")
			}
			p.ipt("-t", table, "-Z")
			s.user[table] = nil
		}
		s.count = map[string]int{}
		s.specs = map[string][][]string{}
	}
	p.listings()
}
