package xt

import (
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/nat"
)

// The NAT range shared by SNAT, DNAT, MASQUERADE and REDIRECT (one C file
// in iptables, libxt_NAT.c): the "ip[-ip][:port[-port[/port]]]" parser,
// the port range parser of --to-ports, and the printer of both the -L and
// the iptables-save forms.

// NAT range flags (NF_NAT_RANGE_*).
const (
	NATRangeMapIPs         = nat.RangeMapIPs
	NATRangeProtoSpecified = nat.RangeProtoSpecified
	NATRangeProtoRandom    = nat.RangeProtoRandom
	NATRangePersistent     = nat.RangePersistent
	NATRangeProtoRandomFul = nat.RangeProtoRandomFull
	NATRangeProtoOffset    = nat.RangeProtoOffset
)

// NATIPv4Range is struct nf_nat_ipv4_range (ports in host order).
type NATIPv4Range struct {
	Flags        uint32
	MinIP, MaxIP IPv4
	Min, Max     uint16
}

// NATIPv4MultiRange is struct nf_nat_ipv4_multi_range_compat, the data of
// the revision 0 IPv4 NAT targets (SNAT, MASQUERADE, REDIRECT, NETMAP).
type NATIPv4MultiRange struct {
	RangeSize uint32
	Range     [1]NATIPv4Range
}

// NATRange2 is struct nf_nat_range2 for IPv4 (ports in host order), the
// data of DNAT revision 2.
type NATRange2 struct {
	Flags            uint32
	MinAddr, MaxAddr IPv4
	MinProto         uint16
	MaxProto         uint16
	BaseProto        uint16
}

// range2 is RANGE2_INIT_FROM_IPV4_MRC: the compat range seen as a
// nf_nat_range2 (no base port: an offset flag prints as "/0").
func (m *NATIPv4MultiRange) range2() NATRange2 {
	r := &m.Range[0]
	return NATRange2{Flags: r.Flags, MinAddr: r.MinIP, MaxAddr: r.MaxIP, MinProto: r.Min, MaxProto: r.Max}
}

// natPortOK is __NAT_parse's portok: the protocols whose ports NAT can
// map (ICMP for its id), by the -p given so far, inverted or not.
func natPortOK(c *Ctx) bool {
	switch c.Proto {
	case 6, 17, 132, 33, 1: // tcp, udp, sctp, dccp, icmp
		return true
	}
	return false
}

// natPortNumber is xtables_strtoui(s, &end, .., min, 65535): a number at
// the start of s and what follows it.
func natPortNumber(s string, min uint64) (uint16, string, bool) {
	v, rest, ok := XtablesStrtoul(s, min, 65535)
	return uint16(v), rest, ok
}

// natParsePorts is libxt_NAT's parse_ports: "port[-port[/baseport]]", a
// service name for the first port and the base port only.
func natParsePorts(arg string, portok bool, r *NATRange2) error {
	if !portok {
		return Errorf("Need TCP, UDP, SCTP or DCCP with port specification")
	}
	r.Flags |= NATRangeProtoSpecified
	port, end, ok := natPortNumber(arg, 0)
	if !ok {
		p, found := ServiceToPort(arg, "")
		if !found {
			return Errorf("Port `%s' not valid", arg)
		}
		port, end = p, ""
	}
	switch {
	case end == "":
		r.MinProto, r.MaxProto = port, port
		return nil
	case end[0] == '-':
		arg = end[1:]
	case end[0] == ':':
		return Errorf("Invalid port:port syntax - use dash")
	default:
		return Errorf("Garbage after port value: `%s'", end)
	}
	// A range: no service names here.
	maxport, end, ok := natPortNumber(arg, 0)
	if !ok {
		return Errorf("Port `%s' not valid", arg)
	}
	if maxport < port {
		return Errorf("Port range `%s' funky", arg)
	}
	r.MinProto, r.MaxProto = port, maxport
	switch {
	case end == "":
		return nil
	case end[0] == '/':
		arg = end[1:]
	default:
		return Errorf("Garbage after port range: `%s'", end)
	}
	// Whatever follows the base port number is ignored, as in C.
	base, _, ok := natPortNumber(arg, 1)
	if !ok {
		p, found := ServiceToPort(arg, "")
		if !found {
			return Errorf("Port `%s' not valid", arg)
		}
		base = p
	}
	r.Flags |= NATRangeProtoOffset
	r.BaseProto = base
	return nil
}

// inetPton4 is inet_pton(AF_INET): exactly four decimal parts 0-255
// without leading zeros.
func inetPton4(s string) (IPv4, bool) {
	var a IPv4
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, false
	}
	for _, p := range parts {
		v, ok := plainDecimal(p, 255)
		if !ok {
			return 0, false
		}
		a = a<<8 | IPv4(v)
	}
	return a, true
}

// natParseTo is libxt_NAT's parse_to for IPv4: "[ip[-ip]][:ports]".
func natParseTo(arg string, portok bool, r *NATRange2) error {
	if strings.IndexByte(arg, '[') >= 0 {
		// Brackets are for IPv6 addresses only.
		return Errorf("Invalid address format")
	}
	start := arg
	// One colon is port information; more make an IPv6 address.
	colon := strings.IndexByte(arg, ':')
	if colon >= 0 && strings.IndexByte(arg[colon+1:], ':') >= 0 {
		colon = -1
	}
	if colon >= 0 {
		if err := natParsePorts(arg[colon+1:], portok, r); err != nil {
			return err
		}
		// C skips the address when the colon is the first character,
		// or the third (meant for "[]:port"; so "12:80" is ":80").
		if colon == 0 || colon == 2 {
			return nil
		}
		start = arg[:colon]
	}
	r.Flags |= NATRangeMapIPs
	lo, hi, dash := start, "", false
	if i := strings.IndexByte(start, '-'); i >= 0 {
		lo, hi, dash = start[:i], start[i+1:], true
	}
	min, ok := inetPton4(lo)
	if !ok {
		return Errorf("Bad IP address \"%s\"", lo)
	}
	max := min
	if dash {
		if max, ok = inetPton4(hi); !ok {
			return Errorf("Bad IP address \"%s\"", hi)
		}
	}
	r.MinAddr, r.MaxAddr = min, max
	return nil
}

// storeRange2 is the compat range for the rule store: its save form
// prints an offset flag with base port 0 ("a-b/0"), which does not parse
// back (base ports start at 1); any base parses back to the same compat
// range, which has no room for it, so the store writes "/1".
func (m *NATIPv4MultiRange) storeRange2() NATRange2 {
	r := m.range2()
	if r.Flags&NATRangeProtoOffset != 0 {
		r.BaseProto = 1
	}
	return r
}

// natParseCompat is NAT_parse: option o of a revision 0 target parsed
// into its compat range.
func natParseCompat(c *Ctx, o *Option, arg string, m *NATIPv4MultiRange) error {
	var r NATRange2
	portok := natPortOK(c)
	rg := &m.Range[0]
	switch o.Name {
	case "to-destination", "to-source":
		if err := natParseTo(arg, portok, &r); err != nil {
			return err
		}
		rg.MinIP, rg.MaxIP = r.MinAddr, r.MaxAddr
		rg.Min, rg.Max = r.MinProto, r.MaxProto
	case "to-ports":
		if err := natParsePorts(arg, portok, &r); err != nil {
			return err
		}
		rg.Min, rg.Max = r.MinProto, r.MaxProto
	default:
		natParseFlag(o.Name, &r)
	}
	rg.Flags |= r.Flags
	return nil
}

// natParseFlag handles --random, --random-fully and --persistent.
func natParseFlag(name string, r *NATRange2) {
	switch name {
	case "persistent":
		r.Flags |= NATRangePersistent
	case "random":
		r.Flags |= NATRangeProtoRandom
	case "random-fully":
		r.Flags |= NATRangeProtoRandomFul
	}
}

// String is sprint_range for IPv4: "[ip[-ip]][:port[-port][/base]]".
func (r *NATRange2) String() string {
	var b []byte
	if r.Flags&NATRangeMapIPs != 0 {
		b = r.MinAddr.AppendTo(b)
		if r.MinAddr != r.MaxAddr {
			b = append(b, '-')
			b = r.MaxAddr.AppendTo(b)
		}
	}
	if r.Flags&NATRangeProtoSpecified != 0 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(r.MinProto), 10)
		if r.MaxProto != r.MinProto {
			b = append(b, '-')
			b = strconv.AppendUint(b, uint64(r.MaxProto), 10)
		}
		if r.Flags&NATRangeProtoOffset != 0 {
			b = append(b, '/')
			b = strconv.AppendUint(b, uint64(r.BaseProto), 10)
		}
	}
	return string(b)
}

// natPrint is __NAT_print: the range after rangeopt (without its leading
// colon for the port-only targets), then the flags.
func natPrint(b *strings.Builder, r *NATRange2, rangeopt, flagPfx string, skipColon bool) {
	if s := r.String(); s != "" {
		if skipColon && s[0] == ':' {
			s = s[1:]
		}
		b.WriteString(" " + rangeopt + s)
	}
	if r.Flags&NATRangeProtoRandom != 0 {
		b.WriteString(" " + flagPfx + "random")
	}
	if r.Flags&NATRangeProtoRandomFul != 0 {
		b.WriteString(" " + flagPfx + "random-fully")
	}
	if r.Flags&NATRangePersistent != 0 {
		b.WriteString(" " + flagPfx + "persistent")
	}
}

// The packet side shared by the NAT targets: each builds a nat.Range
// and asks the NAT core for the connection's binding (nf_nat_setup_info).

// NATManip is HOOK2MANIP: the source at POSTROUTING and INPUT, the
// destination at PREROUTING and OUTPUT.
func NATManip(h Hook) nat.Manip {
	if h == HookPostRouting || h == HookLocalIn {
		return nat.Src
	}
	return nat.Dst
}

// NATCtx is what the NAT core needs of a packet's context: the
// conntrack table, the packet's time and the environment's randomness.
func NATCtx(p *Pkt) nat.Ctx {
	x := nat.Ctx{Now: p.Time}
	if tb, ok := p.Tracker.(ConntrackTabler); ok {
		x.Table = tb.ConntrackTable()
	}
	if p.Env != nil {
		x.Rand = p.Env.Rand
	}
	return x
}

// natSetup runs nf_nat_setup_info for the packet's connection; the NAT
// targets are terminal (NF_ACCEPT) unless setup fails.
func natSetup(p *Pkt, r *nat.Range, m nat.Manip) Verdict {
	if p.Conn == nil {
		// The kernel only warns: a NAT rule seen without conntrack.
		return VerdictAccept
	}
	x := NATCtx(p)
	if !nat.SetupInfo(&x, p.Conn, r, m) {
		return VerdictDrop
	}
	return VerdictAccept
}

// natRange is the kernel's view of a compat range (xt_nat_convert_range).
func (m *NATIPv4MultiRange) natRange() nat.Range {
	r := &m.Range[0]
	return nat.Range{Flags: r.Flags, MinAddr: uint32(r.MinIP), MaxAddr: uint32(r.MaxIP), MinProto: r.Min, MaxProto: r.Max}
}
