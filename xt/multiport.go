package xt

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// multiport: [!] --sports|--dports|--ports port[,port:port,...]
// (libxt_multiport revision 1, struct xt_multiport_v1; the kernel has it,
// so iptables 1.8.9 never uses revision 0). Up to 15 ports, a range taking
// two slots.

var multiportX6 = X6Table{Ext: "multiport", Entries: []X6Entry{
	{Name: "source-ports", ID: 0, Arg: true, Flags: OptInvert, Excl: 7},
	{Name: "sports", ID: 0, Arg: true, Flags: OptInvert, Excl: 7},
	{Name: "destination-ports", ID: 1, Arg: true, Flags: OptInvert, Excl: 7},
	{Name: "dports", ID: 1, Arg: true, Flags: OptInvert, Excl: 7},
	{Name: "ports", ID: 2, Arg: true, Flags: OptInvert, Excl: 7},
}}

var multiportMatch = Def{
	Name:     "multiport",
	Kind:     KindMatch,
	Revision: 1,
	Options:  multiportX6.Options(),
	New:      func() Ext { return &Multiport{} },
}

// Multiport flags (enum xt_multiport_flags) and XT_MULTI_PORTS.
const (
	MultiportSource      = 0
	MultiportDestination = 1
	MultiportEither      = 2
	MultiPorts           = 15
)

// Multiport is struct xt_multiport_v1.
type Multiport struct {
	Flags  uint8
	Count  uint8
	Ports  [MultiPorts]uint16
	PFlags [MultiPorts]uint8 // 1: Ports[i] starts a range ending at Ports[i+1]
	Invert uint8
	xflags uint32
}

// multiportProtoName is multiport's proto_to_name.
func multiportProtoName(proto uint8) string {
	switch proto {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 136:
		return "udplite"
	case 132:
		return "sctp"
	case 33:
		return "dccp"
	}
	return ""
}

// multiportCheckProto is check_proto: the ports need -p with one of the
// port protocols, not inverted.
func multiportCheckProto(c *Ctx) (string, error) {
	if c.ProtoInv {
		return "", Errorf("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP")
	}
	if name := multiportProtoName(c.Proto); name != "" {
		return name, nil
	}
	if c.Proto == 0 {
		return "", Errorf("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'")
	}
	return "", Errorf("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP")
}

// parseMultiPortsV1 is parse_multi_ports_v1.
func (m *Multiport) parseMultiPortsV1(s, proto string) error {
	m.PFlags = [MultiPorts]uint8{}
	m.Ports = [MultiPorts]uint16{}
	items := strings.Split(s, ",")
	i := 0
	for _, item := range items {
		if i >= MultiPorts {
			return Errorf("too many ports specified")
		}
		lo, hi, isRange := item, "", false
		if j := strings.IndexByte(item, ':'); j >= 0 {
			if i == MultiPorts-1 {
				return Errorf("too many ports specified")
			}
			lo, hi, isRange = item[:j], item[j+1:], true
		}
		p, err := ParsePort(lo, proto)
		if err != nil {
			return err
		}
		m.Ports[i] = p
		if isRange {
			m.PFlags[i] = 1
			i++
			if m.Ports[i], err = ParsePort(hi, proto); err != nil {
				return err
			}
			if m.Ports[i-1] >= m.Ports[i] {
				return Errorf("invalid portrange specified")
			}
		}
		i++
	}
	m.Count = uint8(i)
	return nil
}

func (m *Multiport) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := multiportX6.Parse(o.Name, invert, m.xflags)
	if err != nil {
		return err
	}
	proto, err := multiportCheckProto(c)
	if err != nil {
		return err
	}
	if err := m.parseMultiPortsV1(arg, proto); err != nil {
		return err
	}
	m.Flags = uint8(e.ID) // source, destination, either
	if invert {
		m.Invert = 1
	}
	m.xflags |= 1 << e.ID
	return nil
}

// Final is multiport_check.
// 1.8.13 says "no ports specified"; the .t files only need a failure, so
// this keeps 1.8.9's text.
func (m *Multiport) Final(c *Ctx) error {
	if err := multiportX6.Final(m.xflags); err != nil {
		return err
	}
	if m.xflags == 0 {
		return Errorf("multiport expection an option")
	}
	return nil
}

func (m *Multiport) writePorts(b *strings.Builder, proto string, numeric bool) {
	for i := 0; i < int(m.Count) && i < MultiPorts; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		multiportPrintPort(b, m.Ports[i], proto, numeric)
		if m.PFlags[i] != 0 && i+1 < MultiPorts {
			b.WriteByte(':')
			i++
			multiportPrintPort(b, m.Ports[i], proto, numeric)
		}
	}
}

// multiportPrintPort is print_port: getservbyport for the rule's protocol
// (any protocol when -p is not a port protocol: getservbyport(NULL)).
func multiportPrintPort(b *strings.Builder, port uint16, proto string, numeric bool) {
	if !numeric {
		if s, ok := PortToService(port, proto); ok {
			b.WriteString(s)
			return
		}
	}
	b.WriteString(strconv.Itoa(int(port)))
}

func (m *Multiport) Save(b *strings.Builder, c *Ctx) {
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	switch m.Flags {
	case MultiportSource:
		b.WriteString(" --sports ")
	case MultiportDestination:
		b.WriteString(" --dports ")
	case MultiportEither:
		b.WriteString(" --ports ")
	}
	m.writePorts(b, multiportProtoName(c.Proto), true)
}

func (m *Multiport) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" multiport ")
	switch m.Flags {
	case MultiportSource:
		b.WriteString("sports ")
	case MultiportDestination:
		b.WriteString("dports ")
	case MultiportEither:
		b.WriteString("ports ")
	default:
		b.WriteString("ERROR ")
	}
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	m.writePorts(b, multiportProtoName(c.Proto), numeric)
}

// Match is xt_multiport's multiport_mt (revision 1): a non-first fragment
// never matches; fewer than 4 bytes of transport header (the two ports,
// read at the same place for TCP, UDP, UDP-Lite, SCTP and DCCP) drop the
// packet (hotdrop). The first port or range that matches decides, then
// the inversion applies; no match at all gives the inversion flag.
func (m *Multiport) Match(p *Pkt) bool {
	if p.FragOffset() != 0 {
		return false
	}
	l4 := p.L4()
	if len(l4) < 4 {
		p.HotDrop = true
		return false
	}
	src := binary.BigEndian.Uint16(l4[0:2])
	dst := binary.BigEndian.Uint16(l4[2:4])
	inv := m.Invert != 0
	n := int(m.Count)
	if n > MultiPorts {
		n = MultiPorts
	}
	for i := 0; i < n; i++ {
		s, e := m.Ports[i], m.Ports[i]
		if m.PFlags[i] != 0 {
			i++
			if i < MultiPorts {
				e = m.Ports[i]
			}
		}
		switch m.Flags {
		case MultiportSource:
			if src >= s && src <= e {
				return !inv
			}
		case MultiportDestination:
			if dst >= s && dst <= e {
				return !inv
			}
		case MultiportEither:
			if src >= s && src <= e || dst >= s && dst <= e {
				return !inv
			}
		}
	}
	return inv
}
