package xt

import (
	"strings"
)

// addrtype: [!] --src-type T[,T...] [!] --dst-type T[,T...]
// [--limit-iface-in | --limit-iface-out]  (libxt_addrtype revision 1,
// struct xt_addrtype_info_v1).

var addrtypeMatch = Def{
	Name:     "addrtype",
	Kind:     KindMatch,
	Revision: 1,
	Options: []Option{
		{Name: "src-type", Arg: true, Flags: OptInvert},
		{Name: "dst-type", Arg: true, Flags: OptInvert},
		{Name: "limit-iface-in", Excl: []string{"limit-iface-out"}},
		{Name: "limit-iface-out", Excl: []string{"limit-iface-in"}},
	},
	New: func() Ext { return &Addrtype{} },
}

// Addrtype flags (XT_ADDRTYPE_*).
const (
	AddrtypeInvertSource  = 0x0001
	AddrtypeInvertDest    = 0x0002
	AddrtypeLimitIfaceIn  = 0x0004
	AddrtypeLimitIfaceOut = 0x0008
)

// AddrtypeNames are the route types (rtn_names), bit i = 1 << i.
var AddrtypeNames = []string{
	"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
	"BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
}

// Addrtype is struct xt_addrtype_info_v1.
type Addrtype struct {
	Source, Dest uint16
	Flags        uint32
	given        bool // --src-type or --dst-type seen
}

// addrtypeParseType is parse_type: the first name of which the first n
// bytes of name are a case-insensitive prefix (strncasecmp).
func addrtypeParseType(name string, mask *uint16) bool {
	for i, n := range AddrtypeNames {
		if addrtypeHasPrefix(name, n) {
			*mask |= 1 << i
			return true
		}
	}
	return false
}

// addrtypeHasPrefix reports strncasecmp(a, b, len(a)) == 0.
func addrtypeHasPrefix(a, b string) bool {
	if len(a) > len(b) {
		return false // b's NUL differs from a's byte
	}
	return strings.EqualFold(a, b[:len(a)])
}

func addrtypeParseTypes(arg string, mask *uint16) error {
	for {
		i := strings.IndexByte(arg, ',')
		if i < 0 {
			break
		}
		if i == 0 || !addrtypeParseType(arg[:i], mask) {
			return Errorf("addrtype: bad type `%s'", arg)
		}
		arg = arg[i+1:]
	}
	if arg == "" || !addrtypeParseType(arg, mask) {
		return Errorf("addrtype: bad type \"%s\"", arg)
	}
	return nil
}

func (a *Addrtype) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "src-type":
		if err := addrtypeParseTypes(arg, &a.Source); err != nil {
			return err
		}
		if invert {
			a.Flags |= AddrtypeInvertSource
		}
		a.given = true
	case "dst-type":
		if err := addrtypeParseTypes(arg, &a.Dest); err != nil {
			return err
		}
		if invert {
			a.Flags |= AddrtypeInvertDest
		}
		a.given = true
	case "limit-iface-in":
		a.Flags |= AddrtypeLimitIfaceIn
	case "limit-iface-out":
		a.Flags |= AddrtypeLimitIfaceOut
	}
	return nil
}

func (a *Addrtype) Final(c *Ctx) error {
	if !a.given {
		return Errorf("addrtype: you must specify --src-type or --dst-type")
	}
	return nil
}

// Check is the kernel's addrtype_mt_checkentry_v1.
func (a *Addrtype) Check(c *Ctx) error {
	if a.Flags&AddrtypeLimitIfaceIn != 0 && a.Flags&AddrtypeLimitIfaceOut != 0 {
		return EINVAL("both incoming and outgoing interface limitation cannot be selected")
	}
	if c.Hooks&(MaskPre|MaskIn) != 0 && a.Flags&AddrtypeLimitIfaceOut != 0 {
		return EINVAL("output interface limitation not valid in PREROUTING and INPUT")
	}
	if c.Hooks&(MaskPost|MaskOut) != 0 && a.Flags&AddrtypeLimitIfaceIn != 0 {
		return EINVAL("input interface limitation not valid in POSTROUTING and OUTPUT")
	}
	if c.Family == FamilyIPv6 {
		const blackhole, prohibit, broadcast = 1 << 6, 1 << 8, 1 << 3
		types := a.Source | a.Dest
		if types&blackhole != 0 {
			return EINVAL("ipv6 BLACKHOLE matching not supported")
		}
		if types >= prohibit {
			return EINVAL("ipv6 PROHIBIT (THROW, NAT ..) matching not supported")
		}
		if types&broadcast != 0 {
			return EINVAL("ipv6 does not support BROADCAST matching")
		}
	}
	return nil
}

func addrtypeWriteTypes(b *strings.Builder, mask uint16) {
	sep := ""
	for i, n := range AddrtypeNames {
		if mask&(1<<i) != 0 {
			b.WriteString(sep + n)
			sep = ","
		}
	}
}

func (a *Addrtype) Save(b *strings.Builder, c *Ctx) {
	if a.Source != 0 {
		if a.Flags&AddrtypeInvertSource != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" --src-type ")
		addrtypeWriteTypes(b, a.Source)
	}
	if a.Dest != 0 {
		if a.Flags&AddrtypeInvertDest != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" --dst-type ")
		addrtypeWriteTypes(b, a.Dest)
	}
	if a.Flags&AddrtypeLimitIfaceIn != 0 {
		b.WriteString(" --limit-iface-in")
	}
	if a.Flags&AddrtypeLimitIfaceOut != 0 {
		b.WriteString(" --limit-iface-out")
	}
}

func (a *Addrtype) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" ADDRTYPE match")
	if a.Source != 0 {
		b.WriteString(" src-type ")
		if a.Flags&AddrtypeInvertSource != 0 {
			b.WriteString("!")
		}
		addrtypeWriteTypes(b, a.Source)
	}
	if a.Dest != 0 {
		b.WriteString(" dst-type ")
		if a.Flags&AddrtypeInvertDest != 0 {
			b.WriteString("!")
		}
		addrtypeWriteTypes(b, a.Dest)
	}
	if a.Flags&AddrtypeLimitIfaceIn != 0 {
		b.WriteString(" limit-in")
	}
	if a.Flags&AddrtypeLimitIfaceOut != 0 {
		b.WriteString(" limit-out")
	}
}

// Route types (RTN_*), as inet_dev_addr_type returns them; bit 1<<RTN_x
// of Source/Dest selects type x (the order of AddrtypeNames).
const (
	RTNUnspec      = 0
	RTNUnicast     = 1 // a gateway or direct route
	RTNLocal       = 2 // an address of this host
	RTNBroadcast   = 3 // accepted locally as broadcast
	RTNAnycast     = 4
	RTNMulticast   = 5
	RTNBlackhole   = 6
	RTNUnreachable = 7
	RTNProhibit    = 8
	RTNThrow       = 9
	RTNNAT         = 10
	RTNXResolve    = 11
)

// addrtypeOf is inet_dev_addr_type (__inet_dev_addr_type): 0.0.0.0/8 and
// 255.255.255.255 are BROADCAST and 224.0.0.0/4 MULTICAST whatever the
// routes; other addresses are looked up in the local table through
// p.Env.AddrType (dev "" for no device limit). With no Env (or no
// AddrType) the host is taken to have no local routes at all, as a fresh
// network namespace with lo down: the lookup fails and the kernel answers
// UNICAST.
func addrtypeOf(p *Pkt, addr uint32, dev string) uint8 {
	if addr>>24 == 0 || addr == 0xFFFFFFFF {
		return RTNBroadcast
	}
	if addr>>28 == 0xE {
		return RTNMulticast
	}
	if p.Env == nil || p.Env.AddrType == nil {
		return RTNUnicast
	}
	return p.Env.AddrType(addr, dev)
}

// Match is addrtype_mt_v1 (IPv4). --limit-iface-in limits the lookup to
// the input device, --limit-iface-out to the output device (a device the
// hook lacks means no limit). The destination is looked at only when the
// source part matched.
func (a *Addrtype) Match(p *Pkt) bool {
	dev := ""
	if a.Flags&AddrtypeLimitIfaceIn != 0 {
		dev = p.InIface
	} else if a.Flags&AddrtypeLimitIfaceOut != 0 {
		dev = p.OutIface
	}
	if a.Source != 0 {
		in := uint32(a.Source)&(1<<addrtypeOf(p, p.Src, dev)) != 0
		if in == (a.Flags&AddrtypeInvertSource != 0) {
			return false
		}
	}
	if a.Dest != 0 {
		in := uint32(a.Dest)&(1<<addrtypeOf(p, p.Dst, dev)) != 0
		if in == (a.Flags&AddrtypeInvertDest != 0) {
			return false
		}
	}
	return true
}
