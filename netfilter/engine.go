// Package netfilter owns the engine: rulesets compiled into immutable
// snapshots (flat rule arrays with resolved jumps, as the kernel's
// ip_tables holds them), published behind an atomic pointer, and the
// traversal of a hook's tables and chains with the kernel's semantics
// (jump, goto, RETURN, falling off a chain, policies, counters).
//
// Counters live outside the immutable snapshot so that the packet path
// never writes to shared rule data.
package netfilter

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// Table priorities per hook, in the kernel's order (raw -300, mangle -150,
// nat -100/100, filter 0, security 50).
var hookTables = [xt.NumHooks][]string{
	xt.HookPreRouting:  {"raw", "mangle", "nat"},
	xt.HookLocalIn:     {"mangle", "filter", "security", "nat"},
	xt.HookForward:     {"mangle", "filter", "security"},
	xt.HookLocalOut:    {"raw", "mangle", "nat", "filter", "security"},
	xt.HookPostRouting: {"mangle", "nat"},
}

type targetKind uint8

const (
	tNone    targetKind = iota // no -j: count and continue
	tVerdict                   // ACCEPT, DROP, QUEUE
	tReturn
	tJump
	tGoto
	tExt
	tEnd // end of a chain: policy of a built-in chain, RETURN of a user chain
)

// crule is one compiled rule. The IP header match is flattened for a
// quick test; matches are called through their Matcher interface.
type crule struct {
	src, srcMask, dst, dstMask uint32
	inv                        uint8
	proto                      uint8
	frag                       bool
	in, out                    ifaceMatch
	hasIPMatch                 bool

	matches []xt.Matcher
	kind    targetKind
	verdict xt.Verdict // tVerdict and tEnd of built-in chains
	jump    int32      // first rule of the target chain (tJump, tGoto)
	target  xt.Targeter

	builtin bool // tEnd of a built-in chain (the policy)
	// traceTail: the kernel's trace names this rule "policy"/"return"
	// (an unconditional standard verdict looks like a chain's tail).
	traceTail bool
	rule      *rules.Rule // the source rule, for explanations
	counter   int32       // index into the counters array
	chain     int32       // index of the chain the rule belongs to
	num       int32       // rule number in its chain (1-based), 0 for the end marker
}

// ifaceMatch is an interface name with iptables' "+" wildcard.
type ifaceMatch struct {
	name   string
	prefix bool // name was "xxx+": compare only the prefix
	any    bool // "" or "+": matches everything
}

func compileIface(s string) ifaceMatch {
	switch {
	case s == "" || s == "+":
		return ifaceMatch{any: true}
	case s[len(s)-1] == '+':
		return ifaceMatch{name: s[:len(s)-1], prefix: true}
	}
	return ifaceMatch{name: s}
}

func (m *ifaceMatch) match(dev string) bool {
	if m.any {
		return true
	}
	if m.prefix {
		return len(dev) >= len(m.name) && dev[:len(m.name)] == m.name
	}
	return dev == m.name
}

// ctable is one compiled table.
type ctable struct {
	name      string
	rules     []crule
	chains    []string           // chain names by index
	builtin   []bool             // whether each chain is built in
	hookEntry [xt.NumHooks]int32 // first rule of the built-in chain, -1 if none
	policyPos [xt.NumHooks]int32 // its end marker (the policy)
}

// Snapshot is an immutable compiled ruleset.
type Snapshot struct {
	needCT   bool // some rule enables connection tracking
	tables   map[string]*ctable
	byHook   [xt.NumHooks][]*ctable
	Ruleset  *rules.Ruleset // the source, for printing
	counters []counterPair  // shared by the snapshot's rules; read via Counters
}

type counterPair struct {
	packets, bytes atomic.Uint64
}

// Compile turns a ruleset into a snapshot. Every match and target must
// have packet logic; one without is an error naming it.
func Compile(rs *rules.Ruleset) (*Snapshot, error) { return compile(rs, false) }

// compile is Compile; track forces connection tracking on, as on a host
// where something else (another table, a module) loaded it.
func compile(rs *rules.Ruleset, track bool) (*Snapshot, error) {
	s := &Snapshot{tables: map[string]*ctable{}, Ruleset: rs}
	ncounters := 0
	for _, t := range rs.Tables {
		ct, n, err := compileTable(t, ncounters)
		if err != nil {
			return nil, err
		}
		ncounters += n
		s.tables[t.Name] = ct
	}
	s.counters = make([]counterPair, ncounters)
	if err := helperWithNAT(rs); err != nil {
		return nil, err
	}
	needCT := track || needsConntrack(rs)
	s.needCT = needCT
	for h := xt.Hook(0); h < xt.NumHooks; h++ {
		for _, name := range hookTables[h] {
			if name == "nat" && !needCT {
				// Checked against the kernel: with no rule that needs
				// conntrack, packets have no conntrack entry and the
				// nat hooks never run the nat table.
				continue
			}
			if ct := s.tables[name]; ct != nil && ct.hookEntry[h] >= 0 {
				s.byHook[h] = append(s.byHook[h], ct)
			}
		}
	}
	return s, nil
}

// helperWithNAT refuses a ruleset that assigns a conntrack helper and
// also NATs: the kernel's NAT helpers (nf_nat_ftp rewriting the addresses
// in PORT and PASV commands, with sequence adjustment) are not modelled,
// and a NATed FTP session would silently break.
func helperWithNAT(rs *rules.Ruleset) error {
	var helper, natTarget string
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if r.Target == nil {
					continue
				}
				switch r.Target.Def.Name {
				case "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP":
					natTarget = r.Target.Def.Name
				case "CT":
					if ct, ok := r.Target.Ext.(*xt.CT); ok && ct.Helper != "" && ct.Flags&xt.CTNotrack == 0 {
						helper = ct.Helper
					}
				}
			}
		}
	}
	if helper != "" && natTarget != "" {
		return fmt.Errorf("target `CT' with --helper %s together with %s has no packet logic in nfgo yet (the kernel's NAT helper, which rewrites the addresses inside the %s protocol, is not modelled)", helper, natTarget, helper)
	}
	return nil
}

// needsConntrack reports whether any rule of any table enables connection
// tracking (see xt.Def.Conntrack).
func needsConntrack(rs *rules.Ruleset) bool {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				for _, m := range r.Matches {
					if m.Def.Conntrack {
						return true
					}
				}
				if r.Target != nil && r.Target.Def.Conntrack {
					return true
				}
			}
		}
	}
	return false
}

func compileTable(t *rules.Table, base int) (*ctable, int, error) {
	ct := &ctable{name: t.Name}
	for h := range ct.hookEntry {
		ct.hookEntry[h] = -1
	}
	start := map[string]int32{}
	// First pass: positions. Each chain is its rules plus an end marker.
	pos := int32(0)
	for _, c := range t.Chains {
		start[c.Name] = pos
		pos += int32(len(c.Rules)) + 1
	}
	ct.rules = make([]crule, 0, pos)
	counter := int32(base)
	for ci, c := range t.Chains {
		ct.chains = append(ct.chains, c.Name)
		ct.builtin = append(ct.builtin, c.Builtin)
		if c.Builtin {
			ct.hookEntry[c.Hook] = start[c.Name]
			ct.policyPos[c.Hook] = start[c.Name] + int32(len(c.Rules))
		}
		for i, r := range c.Rules {
			cr := crule{
				src: uint32(r.IP.Src), srcMask: uint32(r.IP.SrcMask),
				dst: uint32(r.IP.Dst), dstMask: uint32(r.IP.DstMask),
				inv: r.IP.Inv, proto: r.IP.Proto, frag: r.IP.Frag,
				in: compileIface(r.IP.InIface), out: compileIface(r.IP.OutIface),
				counter: counter, chain: int32(ci), num: int32(i + 1), rule: r,
			}
			cr.hasIPMatch = !(cr.in.any && cr.out.any && r.IP.Src == 0 && r.IP.SrcMask == 0 &&
				r.IP.Dst == 0 && r.IP.DstMask == 0 && r.IP.Proto == 0 && !r.IP.Frag && r.IP.Inv == 0)
			counter++
			for _, m := range r.Matches {
				mm, ok := m.Ext.(xt.Matcher)
				if !ok {
					return nil, 0, fmt.Errorf("match `%s' has no packet logic in nfgo yet", m.Def.Name)
				}
				if pc, ok := m.Ext.(xt.PacketCapable); ok {
					if err := pc.PacketLogic(); err != nil {
						return nil, 0, err
					}
				}
				if b, ok := m.Ext.(xt.Binder); ok {
					if err := b.Bind(); err != nil {
						return nil, 0, fmt.Errorf("%s: %v", rules.RuleSpec(xt.FamilyIPv4, t.Name, c.Name, r), err)
					}
				}
				cr.matches = append(cr.matches, mm)
			}
			switch {
			case r.Target != nil:
				tg, ok := r.Target.Ext.(xt.Targeter)
				if !ok {
					return nil, 0, fmt.Errorf("target `%s' has no packet logic in nfgo yet", r.Target.Def.Name)
				}
				if pc, ok := r.Target.Ext.(xt.PacketCapable); ok {
					if err := pc.PacketLogic(); err != nil {
						return nil, 0, err
					}
				}
				if b, ok := r.Target.Ext.(xt.Binder); ok {
					if err := b.Bind(); err != nil {
						return nil, 0, fmt.Errorf("%s: %v", rules.RuleSpec(xt.FamilyIPv4, t.Name, c.Name, r), err)
					}
				}
				cr.kind, cr.target = tExt, tg
			case r.Jump == "":
				cr.kind = tNone
			case r.Jump == rules.VerdictAccept:
				cr.kind, cr.verdict = tVerdict, xt.VerdictAccept
			case r.Jump == rules.VerdictDrop:
				cr.kind, cr.verdict = tVerdict, xt.VerdictDrop
			case r.Jump == rules.VerdictQueue:
				cr.kind, cr.verdict = tVerdict, xt.VerdictQueue
			case r.Jump == rules.VerdictReturn:
				cr.kind = tReturn
			default:
				target, ok := start[r.Jump]
				if !ok {
					return nil, 0, fmt.Errorf("chain `%s' jumps to unknown chain `%s'", c.Name, r.Jump)
				}
				cr.kind, cr.jump = tJump, target
				if r.Goto {
					cr.kind = tGoto
				}
			}
			cr.traceTail = r.Target == nil && rules.IsStandardTarget(r.Jump) && !cr.hasIPMatch && len(r.Matches) == 0
			ct.rules = append(ct.rules, cr)
		}
		end := crule{num: int32(len(c.Rules) + 1), traceTail: true, kind: tEnd, counter: counter, chain: int32(ci), in: ifaceMatch{any: true}, out: ifaceMatch{any: true}}
		counter++
		if c.Builtin {
			end.builtin = true
			end.verdict = xt.VerdictAccept
			if c.Policy == rules.VerdictDrop {
				end.verdict = xt.VerdictDrop
			}
		}
		ct.rules = append(ct.rules, end)
	}
	return ct, int(counter) - base, nil
}

// ipMatch is the kernel's ip_packet_match.
func (r *crule) ipMatch(p *xt.Pkt) bool {
	if !r.hasIPMatch {
		return true
	}
	if (p.Src&r.srcMask != r.src) != (r.inv&rules.InvSrcIP != 0) {
		return false
	}
	if (p.Dst&r.dstMask != r.dst) != (r.inv&rules.InvDstIP != 0) {
		return false
	}
	if r.in.match(p.InIface) == (r.inv&rules.InvViaIn != 0) {
		return false
	}
	if r.out.match(p.OutIface) == (r.inv&rules.InvViaOut != 0) {
		return false
	}
	if r.proto != 0 && (p.Proto != r.proto) != (r.inv&rules.InvProto != 0) {
		return false
	}
	if r.frag && (p.FragOffset() == 0) != (r.inv&rules.InvFrag != 0) {
		return false
	}
	return true
}

// Result tells what a table did with a packet.
type Result struct {
	Verdict xt.Verdict
	Table   string
	Chain   string // chain of the deciding rule
	Rule    int    // its number, 0 for a policy
}

// maxStack bounds the jump stack; the kernel sizes its stack from the
// number of chains and drops a packet that would overflow it.
const maxStack = 256

// runTable traverses one table at hook h (ipt_do_table).
func (s *Snapshot) runTable(ct *ctable, h xt.Hook, p *xt.Pkt, res *Result) xt.Verdict {
	var stack [maxStack]int32
	sp := 0
	pos := ct.hookEntry[h]
	rs := ct.rules
	plen := uint64(len(p.B))
	for {
		r := &rs[pos]
		if r.kind == tEnd {
			if p.Explain != nil {
				pol := ""
				if r.builtin {
					pol = verdictName(r.verdict)
				}
				p.Explain.End(p, ct.name, ct.chains[r.chain], pol)
			}
			if p.Trace {
				s.trace(ct, r, p)
			}
			if r.builtin {
				// The policy: counted like a rule, as the kernel counts
				// its underflow entry.
				c := &s.counters[r.counter]
				c.packets.Add(1)
				c.bytes.Add(plen)
				res.Chain, res.Rule = ct.chains[r.chain], 0
				return r.verdict
			}
			// Falling off a user chain is an implicit RETURN.
			if sp == 0 {
				pos = ct.policyPos[h]
				continue
			}
			sp--
			pos = stack[sp] + 1
			continue
		}
		if p.Explain != nil {
			if why := s.explain(ct, r, p); why != "" {
				pos++
				continue
			}
		} else if !r.ipMatch(p) {
			pos++
			continue
		}
		matched := true
		if p.Explain == nil {
			for _, m := range r.matches {
				if !m.Match(p) {
					matched = false
					break
				}
			}
		}
		if p.HotDrop {
			res.Chain, res.Rule = ct.chains[r.chain], int(r.num)
			return xt.VerdictDrop
		}
		if !matched {
			pos++
			continue
		}
		c := &s.counters[r.counter]
		c.packets.Add(1)
		c.bytes.Add(plen)
		if p.Trace {
			s.trace(ct, r, p)
		}
		v := xt.VerdictContinue
		switch r.kind {
		case tNone:
			pos++
			continue
		case tVerdict:
			v = r.verdict
		case tReturn:
			v = xt.VerdictReturn
		case tJump:
			if sp >= len(stack) {
				res.Chain, res.Rule = ct.chains[r.chain], int(r.num)
				return xt.VerdictDrop
			}
			stack[sp] = pos
			sp++
			pos = r.jump
			continue
		case tGoto:
			pos = r.jump
			continue
		case tExt:
			v = r.target.Target(p)
			if p.HotDrop {
				res.Chain, res.Rule = ct.chains[r.chain], int(r.num)
				return xt.VerdictDrop
			}
			// A target may change the length (TCPMSS adds an option):
			// the kernel counts skb->len at each rule.
			plen = uint64(len(p.B))
		}
		switch v {
		case xt.VerdictContinue:
			pos++
		case xt.VerdictReturn:
			// RETURN from the built-in chain itself goes to its policy.
			if sp == 0 {
				pos = ct.policyPos[h]
				continue
			}
			sp--
			pos = stack[sp] + 1
		default:
			res.Chain, res.Rule = ct.chains[r.chain], int(r.num)
			return v
		}
	}
}

// explain evaluates a rule the slow way, telling p.Explain which part
// failed; it returns "" when the rule matched.
func (s *Snapshot) explain(ct *ctable, r *crule, p *xt.Pkt) string {
	why := ""
	if !r.ipMatch(p) {
		why = ipMismatch(r.rule, p)
	} else {
		for i, m := range r.matches {
			if !m.Match(p) {
				in := r.rule.Matches[i]
				var b strings.Builder
				b.WriteString("-m " + in.Def.Name)
				in.Ext.Save(&b, ctxFor(r.rule))
				why = b.String()
				break
			}
		}
	}
	p.Explain.Rule(p, ct.name, ct.chains[r.chain], int(r.num), why == "", why)
	return why
}

func ctxFor(r *rules.Rule) *xt.Ctx {
	return &xt.Ctx{Family: xt.FamilyIPv4, Proto: r.IP.Proto, ProtoInv: r.IP.Inv&rules.InvProto != 0}
}

// ipMismatch names the IP header condition that failed, in iptables-save
// words.
func ipMismatch(r *rules.Rule, p *xt.Pkt) string {
	ip := &r.IP
	inv := func(bit uint8) string {
		if ip.Inv&bit != 0 {
			return "! "
		}
		return ""
	}
	switch {
	case (p.Src&uint32(ip.SrcMask) != uint32(ip.Src)) != (ip.Inv&rules.InvSrcIP != 0):
		return fmt.Sprintf("%s-s %s/%s", inv(rules.InvSrcIP), ip.Src, xt.MaskString(ip.SrcMask))
	case (p.Dst&uint32(ip.DstMask) != uint32(ip.Dst)) != (ip.Inv&rules.InvDstIP != 0):
		return fmt.Sprintf("%s-d %s/%s", inv(rules.InvDstIP), ip.Dst, xt.MaskString(ip.DstMask))
	}
	in, out := compileIface(ip.InIface), compileIface(ip.OutIface)
	switch {
	case in.match(p.InIface) == (ip.Inv&rules.InvViaIn != 0):
		return fmt.Sprintf("%s-i %s", inv(rules.InvViaIn), ip.InIface)
	case out.match(p.OutIface) == (ip.Inv&rules.InvViaOut != 0):
		return fmt.Sprintf("%s-o %s", inv(rules.InvViaOut), ip.OutIface)
	case ip.Proto != 0 && (p.Proto != ip.Proto) != (ip.Inv&rules.InvProto != 0):
		name, ok := xt.ProtoToName(ip.Proto, true)
		if !ok {
			name = fmt.Sprint(ip.Proto)
		}
		return fmt.Sprintf("%s-p %s", inv(rules.InvProto), name)
	}
	return inv(rules.InvFrag) + "-f"
}

func verdictName(v xt.Verdict) string {
	switch v {
	case xt.VerdictAccept:
		return "ACCEPT"
	case xt.VerdictDrop:
		return "DROP"
	case xt.VerdictQueue:
		return "QUEUE"
	case xt.VerdictReturn:
		return "RETURN"
	}
	return "CONTINUE"
}

// trace reports a matched rule of a traced packet as the kernel's
// trace_packet names it.
func (s *Snapshot) trace(ct *ctable, r *crule, p *xt.Pkt) {
	if p.Events == nil {
		return
	}
	comment := "rule"
	if r.traceTail {
		comment = "return"
		if ct.builtin[r.chain] {
			comment = "policy"
		}
	}
	p.Events.Trace(p, ct.name, ct.chains[r.chain], comment, int(r.num))
}

// Hook runs packet p through every table registered at hook h, in
// priority order, stopping at the first verdict other than ACCEPT. When
// the ruleset enables connection tracking, the conntrack step runs after
// the raw table at PREROUTING and OUTPUT (priority -200), the nat table
// sees only packets whose connection has no NAT binding yet for the
// hook's manipulation, and the entry is confirmed at the end of INPUT and
// POSTROUTING.
func (s *Snapshot) Hook(h xt.Hook, p *xt.Pkt) Result {
	var res Result
	res.Verdict = xt.VerdictAccept
	p.Hook = h
	ctStep := s.needCT && (h == xt.HookPreRouting || h == xt.HookLocalOut)
	for _, ct := range s.byHook[h] {
		if ctStep && ct.name != "raw" {
			ctStep = false
			if !track(p) {
				res.Verdict, res.Table = xt.VerdictDrop, "conntrack"
				return res
			}
		}
		if ct.name == "nat" {
			if v := s.natHook(ct, h, p, &res); v != xt.VerdictAccept {
				res.Verdict = v
				return res
			}
			continue
		}
		res.Table = ct.name
		p.Table = ct.name
		v := s.runTable(ct, h, p, &res)
		if v != xt.VerdictAccept {
			res.Verdict = v
			return res
		}
	}
	if ctStep && !track(p) {
		res.Verdict, res.Table = xt.VerdictDrop, "conntrack"
		return res
	}
	if s.needCT && (h == xt.HookLocalIn || h == xt.HookPostRouting) && p.Tracker != nil && p.Conn != nil {
		if !p.Tracker.Confirm(p) {
			res.Verdict, res.Table = xt.VerdictDrop, "conntrack"
			return res
		}
	}
	return res
}

// track runs the conntrack step once per packet.
func track(p *xt.Pkt) bool {
	if p.CTDone || p.Untracked || p.Tracker == nil {
		return true
	}
	p.CTDone = true
	return p.Tracker.Track(p)
}

// natHook is the NAT core at a nat hook (nf_nat_ipv4_fn and
// nf_nat_inet_fn): an ICMP error about a connection is translated from
// the connection's binding without the nat table; a connection's first
// packet (NEW, or RELATED: an expected connection) whose binding of this
// hook's kind is not yet chosen runs the nat table, and gets the null
// binding if no NAT target chose one; then every packet of a connection
// is rewritten from its binding. Packets without a connection pass
// untouched.
func (s *Snapshot) natHook(ct *ctable, h xt.Hook, p *xt.Pkt, res *Result) xt.Verdict {
	conn := p.Conn
	if conn == nil {
		return xt.VerdictAccept
	}
	m := xt.NATManip(h)
	related := p.CtInfo == conntrack.Related || p.CtInfo == conntrack.RelatedReply
	if related && p.Proto == 1 {
		if !nat.ICMPReply(conn, p.CtInfo, m, p.B, true) {
			res.Table = "nat"
			return xt.VerdictDrop
		}
		p.Reload()
		return xt.VerdictAccept
	}
	if (related || p.CtInfo == conntrack.New) && !nat.Initialized(conn, m) {
		res.Table = ct.name
		p.Table = ct.name
		if v := s.runTable(ct, h, p, res); v != xt.VerdictAccept {
			return v
		}
		if !nat.Initialized(conn, m) {
			x := xt.NATCtx(p)
			if !nat.NullBinding(&x, conn, m) {
				return xt.VerdictDrop
			}
		}
	}
	rewritten, ok := nat.Packet(conn, p.CtInfo, m, p.B, p.CsumPartial)
	if !ok {
		res.Table = "nat"
		return xt.VerdictDrop
	}
	if rewritten {
		p.Reload()
	}
	return xt.VerdictAccept
}

// Counters copies the counters back into a ruleset (for iptables-save -c).
func (s *Snapshot) Counters(rs *rules.Ruleset) {
	for _, t := range rs.Tables {
		ct := s.tables[t.Name]
		if ct == nil {
			continue
		}
		i := 0
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				cp := &s.counters[ct.rules[i].counter]
				r.Counters = rules.Counters{Packets: r.Counters.Packets + cp.packets.Load(), Bytes: r.Counters.Bytes + cp.bytes.Load()}
				i++
			}
			if c.Builtin {
				cp := &s.counters[ct.rules[i].counter]
				c.Counters = rules.Counters{Packets: c.Counters.Packets + cp.packets.Load(), Bytes: c.Counters.Bytes + cp.bytes.Load()}
			}
			i++
		}
	}
}

// Engine publishes snapshots atomically: a packet sees the old ruleset or
// the new one, never a mix.
type Engine struct {
	cur   atomic.Pointer[Snapshot]
	track bool
}

// New returns an engine running rs.
func New(rs *rules.Ruleset) (*Engine, error) { return newEngine(rs, false) }

// NewTracked returns an engine running rs with connection tracking on
// whatever the rules need (the kernel tracks only when a rule asks for
// it; a host where conntrack was loaded otherwise tracks every packet).
func NewTracked(rs *rules.Ruleset) (*Engine, error) { return newEngine(rs, true) }

func newEngine(rs *rules.Ruleset, track bool) (*Engine, error) {
	s, err := compile(rs, track)
	if err != nil {
		return nil, err
	}
	e := &Engine{track: track}
	e.cur.Store(s)
	return e, nil
}

// Swap installs a new ruleset; packets in flight finish on the old one.
func (e *Engine) Swap(rs *rules.Ruleset) error {
	s, err := compile(rs, e.track)
	if err != nil {
		return err
	}
	e.cur.Store(s)
	return nil
}

// Snapshot returns the ruleset packets currently see.
func (e *Engine) Snapshot() *Snapshot { return e.cur.Load() }
