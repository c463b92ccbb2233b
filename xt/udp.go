package xt

import (
	"encoding/binary"
	"strings"
)

// udp: -p udp [[!] --sport P[:P]] [[!] --dport P[:P]]  (libxt_udp, struct
// xt_udp). An x6 extension: the ports are XTTYPE_PORTRC, resolved with
// getaddrinfo (GetPortByName), and the aliases share an id.

var udpX6 = X6Table{Ext: "udp", Entries: []X6Entry{
	{Name: "source-port", ID: 0, Arg: true, Flags: OptInvert},
	{Name: "sport", ID: 0, Arg: true, Flags: OptInvert},
	{Name: "destination-port", ID: 1, Arg: true, Flags: OptInvert},
	{Name: "dport", ID: 1, Arg: true, Flags: OptInvert},
}}

var udpMatch = Def{
	Name:    "udp",
	Kind:    KindMatch,
	Proto:   17,
	Options: udpX6.Options(),
	New:     func() Ext { return &UDP{Spts: [2]uint16{0, 0xFFFF}, Dpts: [2]uint16{0, 0xFFFF}} },
}

// UDP invflags.
const (
	UDPInvSrcPt = 0x01
	UDPInvDstPt = 0x02
)

// UDP is struct xt_udp.
type UDP struct {
	Spts, Dpts [2]uint16
	Inv        uint8
	xflags     uint32
}

// GetPortByName is libxtables' xtables_getportbyname: getaddrinfo(NULL,
// name) as glibc resolves a service. A string strtoul reads completely in
// base 10 is a number, taken modulo 2^16 unless it is negative as a C int
// (so "65536" is port 0 and "-1" is looked up as a name and fails); any
// other string is a service name, looked up for tcp, udp, dccp, udplite
// and sctp in that order.
func GetPortByName(s string) (uint16, bool) {
	v, n, _ := StrtoulPrefix(s, 10)
	if n == len(s) && n > 0 {
		if int32(uint32(v)) >= 0 {
			return uint16(v), true
		}
		// glibc looks the string up as a name, which cannot match.
	} else if len(s) == 0 {
		return 0, true
	}
	for _, proto := range []string{"tcp", "udp", "dccp", "udplite", "sctp"} {
		if p, ok := ServiceToPort(s, proto); ok {
			return p, true
		}
	}
	return 0, false
}

// ParsePortRC is libxtables' xtopt_parse_mport (XTTYPE_PORTRC): "P",
// "P:", ":P", "P:P" (an empty part is 0 or 65535).
// 1.8.13: a descending range ("4:3") is refused ("Port range 4-3 is
// negative."); 1.8.9 accepts and saves it (differential tests skip
// "portrc-negative-range").
func ParsePortRC(ext, opt, arg string) ([2]uint16, error) {
	r := [2]uint16{0, 0xFFFF}
	n, prev := 0, 0
	for _, part := range strings.Split(arg, ":") {
		if n == 2 {
			return r, Errorf("%s: Too many components for option \"--%s\" (max: %d)\n", ext, opt, 2)
		}
		if part == "" {
			n++
			continue
		}
		p, ok := GetPortByName(part)
		if !ok {
			return r, Errorf("Port \"%s\" does not resolve to anything.\n", part)
		}
		if int(p) < prev {
			return r, Errorf("Port range %d-%d is negative.\n", prev, p)
		}
		prev = int(p)
		r[n] = p
		n++
	}
	if n == 1 {
		r[1] = r[0]
	}
	return r, nil
}

func (u *UDP) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := udpX6.Parse(o.Name, invert, u.xflags)
	if err != nil {
		return err
	}
	r, err := ParsePortRC("udp", e.Name, arg)
	if err != nil {
		return err
	}
	if e.ID == 0 {
		u.Spts = r
		if invert {
			u.Inv |= UDPInvSrcPt
		}
	} else {
		u.Dpts = r
		if invert {
			u.Inv |= UDPInvDstPt
		}
	}
	u.xflags |= 1 << e.ID
	return nil
}

func (u *UDP) Final(c *Ctx) error { return udpX6.Final(u.xflags) }

// Save is udp_save.
// 1.8.13: an inverted full range ("! --sport :") is saved as "! --sport
// 0:65535"; 1.8.9 drops it (differential tests skip
// "udp-inverted-full-range").
func (u *UDP) Save(b *strings.Builder, c *Ctx) {
	SavePorts(b, "sport", u.Spts, u.Inv&UDPInvSrcPt != 0)
	SavePorts(b, "dport", u.Dpts, u.Inv&UDPInvDstPt != 0)
}

func (u *UDP) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" udp")
	PrintPorts(b, "spt", u.Spts, u.Inv&UDPInvSrcPt != 0, "udp", numeric)
	PrintPorts(b, "dpt", u.Dpts, u.Inv&UDPInvDstPt != 0, "udp", numeric)
}

// Match is xt_tcpudp's udp_mt: a non-first fragment never matches; a
// first fragment or packet too short for the 8-byte UDP header is dropped
// (hotdrop), as the kernel cannot examine it.
func (u *UDP) Match(p *Pkt) bool {
	if p.FragOffset() != 0 {
		return false
	}
	l4 := p.L4()
	if len(l4) < 8 {
		p.HotDrop = true
		return false
	}
	sp := binary.BigEndian.Uint16(l4[0:2])
	dp := binary.BigEndian.Uint16(l4[2:4])
	return portMatch(u.Spts, sp, u.Inv&UDPInvSrcPt != 0) && portMatch(u.Dpts, dp, u.Inv&UDPInvDstPt != 0)
}
