package xt

import (
	"fmt"
	"github.com/nfgo/nfgo/ipset"
	"strings"
)

// set: -m set [!] --match-set NAME DIR[,DIR...] [--return-nomatch]
// [! --update-counters] [! --update-subcounters]
// [[!] --packets-eq N | --packets-lt N | --packets-gt N]
// [[!] --bytes-eq N | --bytes-lt N | --bytes-gt N]
// (libxt_set revision 4, struct xt_set_info_match_v4). libxt_set parses in
// the old getopt style: every option may be inverted or repeated as far as
// the generic code is concerned, the parser does its own checks.

var setMatch = Def{
	Name:     "set",
	Kind:     KindMatch,
	Revision: 4,
	Options: []Option{
		{Name: "match-set", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "set", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "return-nomatch", Flags: OptInvert | OptMulti},
		{Name: "update-counters", Flags: OptInvert | OptMulti},
		{Name: "packets-eq", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "packets-lt", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "packets-gt", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "bytes-eq", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "bytes-lt", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "bytes-gt", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "update-subcounters", Flags: OptInvert | OptMulti},
	},
	New: func() Ext { return &Set{} },
}

// Set flags and counter operators (IPSET_*).
const (
	IPSetInvMatch              = 1 << 0
	IPSetFlagSkipCounterUpdate = 1 << 3
	IPSetFlagSkipSubcounterUpd = 1 << 4
	IPSetFlagReturnNomatch     = 1 << 7
	IPSetCounterNone           = 0
	IPSetCounterEQ             = 1
	IPSetCounterNE             = 2
	IPSetCounterLT             = 3
	IPSetCounterGT             = 4
	ipsetMaxNameLen            = 32 // IPSET_MAXNAMELEN
	ipsetDimMax                = 6  // IPSET_DIM_MAX

	ipsetInvalidIndex uint16 = 0xFFFF
)

// SetCounterMatch is struct ip_set_counter_match.
type SetCounterMatch struct {
	Op    uint8
	Value uint64
}

// Set is struct xt_set_info_match_v4. The kernel refers to the set by
// index; nfgo keeps its name and binds the set when a ruleset is compiled
// (LookupSet), so a rule always prints and saves by name.
type Set struct {
	SetName  string
	Index    uint16
	Dim      uint8
	SetFlags uint8 // IPSET_INV_MATCH, bit i: dimension i is "src"
	Packets  SetCounterMatch
	Bytes    SetCounterMatch
	Flags    uint32

	given bool
	bound *ipset.Set // the set, once the ruleset is compiled (Bind)
}

func setParseCounter(arg string) (uint64, error) {
	v, ok := ParseUint(arg, 0, 1<<64-1)
	if !ok {
		return 0, Errorf("Cannot parse %s as a counter value", arg)
	}
	return v, nil
}

// LookupSet tells whether an ipset exists, and its family, as the kernel's
// get_set_byname answers. nfgo has no sets until the ipset step, so by
// default no set exists and every --match-set/--add-set names a missing
// set, exactly as on a kernel with no sets defined.
var LookupSet = func(name string) (family Family, ok bool) { return 0, false }

// checkSetExists is libxt_set's get_set_byname check.
func checkSetExists(name string) error {
	fam, ok := LookupSet(name)
	if !ok {
		return Errorf("Set %s doesn't exist.\n", name)
	}
	if fam == FamilyIPv6 {
		return Errorf("The protocol family of set %s is IPv6, which is not applicable.\n", name)
	}
	return nil
}

func (s *Set) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	counter := func(m *SetCounterMatch, what, name string, op uint8) error {
		if m.Op != IPSetCounterNone {
			return Errorf("only one of the --%s-[eq|lt|gt] is allowed", what)
		}
		if invert {
			if op != IPSetCounterEQ {
				return Errorf("--%s option cannot be inverted", name)
			}
			op = IPSetCounterNE
		}
		v, err := setParseCounter(arg)
		if err != nil {
			return err
		}
		m.Op, m.Value = op, v
		return nil
	}
	switch o.Name {
	case "update-subcounters":
		if invert {
			s.Flags |= IPSetFlagSkipSubcounterUpd
		}
	case "bytes-gt":
		return counter(&s.Bytes, "bytes", o.Name, IPSetCounterGT)
	case "bytes-lt":
		return counter(&s.Bytes, "bytes", o.Name, IPSetCounterLT)
	case "bytes-eq":
		return counter(&s.Bytes, "bytes", o.Name, IPSetCounterEQ)
	case "packets-gt":
		return counter(&s.Packets, "packets", o.Name, IPSetCounterGT)
	case "packets-lt":
		return counter(&s.Packets, "packets", o.Name, IPSetCounterLT)
	case "packets-eq":
		return counter(&s.Packets, "packets", o.Name, IPSetCounterEQ)
	case "update-counters":
		if invert {
			s.Flags |= IPSetFlagSkipCounterUpdate
		}
	case "return-nomatch":
		if invert {
			return Errorf("--return-nomatch flag cannot be inverted")
		}
		s.Flags |= IPSetFlagReturnNomatch
	case "set", "match-set":
		if o.Name == "set" {
			c.Warnf("--set option deprecated, please use --match-set")
		}
		if s.Dim != 0 {
			return Errorf("--match-set can be specified only once")
		}
		if invert {
			s.SetFlags |= IPSetInvMatch
		}
		dirs, ok := c.PeekArg()
		if !ok || strings.HasPrefix(dirs, "-") || strings.HasPrefix(dirs, "!") {
			return Errorf("--match-set requires two args.")
		}
		if len(arg) > ipsetMaxNameLen-1 {
			return Errorf("setname `%s' too long, max %d characters.", arg, ipsetMaxNameLen-1)
		}
		if err := checkSetExists(arg); err != nil {
			return err
		}
		s.SetName = arg
		s.Index = ipsetInvalidIndex
		rest := &dirs
		for s.Dim < ipsetDimMax && rest != nil {
			s.Dim++
			tok := *rest
			if i := strings.IndexByte(tok, ','); i >= 0 {
				tok = (*rest)[:i]
				r := (*rest)[i+1:]
				rest = &r
			} else {
				rest = nil
			}
			if strings.HasPrefix(tok, "src") {
				s.SetFlags |= 1 << s.Dim
			} else if !strings.HasPrefix(tok, "dst") {
				return Errorf("You must spefify (the comma separated list of) 'src' or 'dst'.")
			}
		}
		if rest != nil {
			return Errorf("Can't be more src/dst options than %d.", ipsetDimMax)
		}
		c.NextArg()
		s.given = true
	}
	return nil
}

func (s *Set) Final(c *Ctx) error {
	if !s.given {
		return Errorf("You must specify `--match-set' with proper arguments")
	}
	return nil
}

func setPrintCounter(b *strings.Builder, m SetCounterMatch, name, sep string) {
	switch m.Op {
	case IPSetCounterEQ:
		fmt.Fprintf(b, " %s%s-eq %d", sep, name, m.Value)
	case IPSetCounterNE:
		fmt.Fprintf(b, " ! %s%s-eq %d", sep, name, m.Value)
	case IPSetCounterLT:
		fmt.Fprintf(b, " %s%s-lt %d", sep, name, m.Value)
	case IPSetCounterGT:
		fmt.Fprintf(b, " %s%s-gt %d", sep, name, m.Value)
	}
}

func (s *Set) dump(b *strings.Builder, opt, sep string) {
	if s.SetFlags&IPSetInvMatch != 0 {
		b.WriteString(" !")
	}
	b.WriteString(" " + opt + " " + s.SetName)
	for i := uint8(1); i <= s.Dim; i++ {
		if i == 1 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		if s.SetFlags&(1<<i) != 0 {
			b.WriteString("src")
		} else {
			b.WriteString("dst")
		}
	}
	if s.Flags&IPSetFlagReturnNomatch != 0 {
		b.WriteString(" " + sep + "return-nomatch")
	}
	if s.Flags&IPSetFlagSkipCounterUpdate != 0 {
		b.WriteString(" ! " + sep + "update-counters")
	}
	if s.Flags&IPSetFlagSkipSubcounterUpd != 0 {
		b.WriteString(" ! " + sep + "update-subcounters")
	}
	setPrintCounter(b, s.Packets, "packets", sep)
	setPrintCounter(b, s.Bytes, "bytes", sep)
}

func (s *Set) Save(b *strings.Builder, c *Ctx) { s.dump(b, "--match-set", "--") }

func (s *Set) Print(b *strings.Builder, c *Ctx, numeric bool) { s.dump(b, "match-set", "") }

// SetUser is implemented by extensions that name ipsets; each name is one
// kernel reference to that set (ipset list's "References:"), and a set
// with references cannot be destroyed or renamed.
type SetUser interface {
	SetNames() []string
}

// SetNames is the set the match reads.
func (s *Set) SetNames() []string { return []string{s.SetName} }

// Sets is the registry the set match and SET target look sets up in on
// the packet path (the kernel's ip_set_list of the namespace): the tool
// that runs packets (trace, replay, gateway) installs it with the sets of
// its host. Rules are bound to their sets when a ruleset is compiled.
var Sets *ipset.Registry

// Bind resolves the match's set, as set_match_v4_checkentry takes its
// reference by name.
func (s *Set) Bind() error {
	s.bound = nil
	if Sets != nil {
		s.bound = Sets.Get(s.SetName)
	}
	if s.bound == nil {
		return OtherErrorf("Set %s doesn't exist.", s.SetName)
	}
	return nil
}

// PacketLogic: every dimension count the kernel takes (1 to
// IPSET_DIM_MAX): directions beyond the set type's dimension are ignored,
// fewer never match (ip_set_test).
func (s *Set) PacketLogic() error { return nil }

// Match is set_match_v4: the packet's source or destination address (as
// the first direction says) tested against the set, inverted on request;
// the element's counters updated unless ! --update-counters.
func (s *Set) Match(p *Pkt) bool {
	if s.bound == nil {
		return false
	}
	update := s.Flags&IPSetFlagSkipCounterUpdate == 0
	cm := ipset.CounterMatch{PacketsOp: s.Packets.Op, Packets: s.Packets.Value, BytesOp: s.Bytes.Op, Bytes: s.Bytes.Value}
	rn := s.Flags&IPSetFlagReturnNomatch != 0
	var hit bool
	if s.bound.Type == ipset.TypeListSet {
		// list_set_ktest: each member tested with its own counters
		// updated (unless ! --update-counters or ! --update-subcounters)
		// but not compared; the list element's counters decide.
		sub := update && s.Flags&IPSetFlagSkipSubcounterUpd == 0
		hit = s.bound.MatchList(uint64(len(p.B)), p.Time, update, cm, func(m *ipset.Set) bool {
			return setTest(p, s.Dim, s.SetFlags, m, sub, ipset.CounterMatch{}, rn)
		})
	} else {
		hit = setTest(p, s.Dim, s.SetFlags, s.bound, update, cm, rn)
	}
	return hit != (s.SetFlags&IPSetInvMatch != 0)
}

// setTest is ip_set_test of one (non-list) set.
func setTest(p *Pkt, dim, flags uint8, set *ipset.Set, update bool, cm ipset.CounterMatch, returnNomatch bool) bool {
	ip, ip2, proto, port, ok := setElem(p, dim, flags, set)
	if !ok {
		return false
	}
	if set.Type == ipset.TypeBitmapIPMAC {
		return set.MatchIPMAC(ip, p.MAC, flags&(1<<2) != 0, uint64(len(p.B)), p.Time, update, cm)
	}
	if set.Type == ipset.TypeHashMAC {
		return set.MatchMAC(p.MAC, flags&(1<<1) != 0, uint64(len(p.B)), p.Time, update, cm)
	}
	if set.Type == ipset.TypeHashNetIface {
		return set.MatchIface(ip, setIface(p, flags), uint64(len(p.B)), p.Time, update, cm, returnNomatch)
	}
	return set.MatchElemFlags(ip, ip2, proto, port, uint64(len(p.B)), p.Time, update, cm, returnNomatch)
}

// setIface is hash:net,iface's interface: the second direction "src"
// names the input device, "dst" the output device ("" where the hook has
// none).
func setIface(p *Pkt, flags uint8) string {
	if flags&(1<<2) != 0 {
		return p.InIface
	}
	return p.OutIface
}

// setElem is what a set type's kadt reads from a packet for dim
// directions, flags having bit i set when direction i is "src": the first
// direction's address, for the port types the port of the second
// direction (bitmap:port: of the first) with the protocol, and for the
// three-dimensional types (hash:ip,port,ip, hash:ip,port,net) the third
// direction's address. false: the packet has no such element (a
// non-first fragment or truncated header for a port, or fewer directions
// than the set's type has, which never match, add or delete, as
// ip_set_test/add/del refuse opt->dim < set->type->dimension).
func setElem(p *Pkt, dim, flags uint8, set *ipset.Set) (ip, ip2 uint32, proto uint8, port uint16, ok bool) {
	if int(dim) < set.Dimension() {
		return 0, 0, 0, 0, false
	}
	src := func(d uint) bool { return flags&(1<<d) != 0 } // IPSET_DIM_*_SRC
	addr := func(d uint) uint32 {
		if src(d) {
			return p.Src
		}
		return p.Dst
	}
	ip = addr(1)
	switch set.Type {
	case ipset.TypeHashIPPort, ipset.TypeHashNetPort:
		port, ok = setPort(p, src(2))
		return ip, 0, p.Proto, port, ok
	case ipset.TypeHashIPPortIP, ipset.TypeHashIPPortNet:
		port, ok = setPort(p, src(2))
		return ip, addr(3), p.Proto, port, ok
	case ipset.TypeBitmapPort:
		port, ok = setPort(p, src(1))
		return 0, 0, p.Proto, port, ok
	}
	return ip, 0, p.Proto, 0, true
}

// setPort is ip_set_get_ip4_port: the source or destination port of TCP,
// UDP, UDP-Lite and SCTP, type<<8|code of ICMP, 0 for other protocols;
// false for a non-first fragment or a truncated header.
func setPort(p *Pkt, src bool) (uint16, bool) {
	if p.FragOffset() != 0 {
		return 0, false
	}
	l4 := p.L4()
	need := 0
	switch p.Proto {
	case 6:
		need = 20
	case 17, 136:
		need = 8
	case 132:
		need = 12
	case 1:
		if len(l4) < 8 {
			return 0, false
		}
		return uint16(l4[0])<<8 | uint16(l4[1]), true
	default:
		return 0, true
	}
	if len(l4) < need {
		return 0, false
	}
	if src {
		return uint16(l4[0])<<8 | uint16(l4[1]), true
	}
	return uint16(l4[2])<<8 | uint16(l4[3]), true
}
