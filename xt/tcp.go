package xt

import (
	"fmt"
	"strings"
)

// tcp: -p tcp [--sport P[:P]] [--dport P[:P]] [--tcp-flags MASK COMP | --syn]
// [--tcp-option N]  (libxt_tcp, struct xt_tcp).

var tcpMatch = Def{
	Name:  "tcp",
	Kind:  KindMatch,
	Proto: 6,
	Options: []Option{
		{Name: "source-port", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "sport", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "destination-port", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "dport", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "syn", Flags: OptInvert | OptMulti},
		{Name: "tcp-flags", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "tcp-option", Arg: true, Flags: OptInvert | OptMulti},
	},
	New: func() Ext { return &TCP{Spts: [2]uint16{0, 0xFFFF}, Dpts: [2]uint16{0, 0xFFFF}} },
}

// TCP invflags.
const (
	TCPInvSrcPt  = 0x01
	TCPInvDstPt  = 0x02
	TCPInvFlags  = 0x04
	TCPInvOption = 0x08
)

// TCP is struct xt_tcp.
type TCP struct {
	Spts, Dpts      [2]uint16
	Option          uint8
	FlgMask, FlgCmp uint8
	Inv             uint8
	flags           uint8
}

// ParsePortRange parses "P", "P:", ":P", "P:P" with service names for proto,
// as the tcp/udp matches do.
func ParsePortRange(s, proto string) ([2]uint16, error) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		p, err := ParsePort(s, proto)
		return [2]uint16{p, p}, err
	}
	r := [2]uint16{0, 0xFFFF}
	var err error
	if lo := s[:i]; lo != "" {
		if r[0], err = ParsePort(lo, proto); err != nil {
			return r, err
		}
	}
	if hi := s[i+1:]; hi != "" {
		if r[1], err = ParsePort(hi, proto); err != nil {
			return r, err
		}
	}
	if r[0] > r[1] {
		return r, Errorf("invalid portrange (min > max)")
	}
	return r, nil
}

var tcpFlagNames = []struct {
	name string
	flag uint8
}{{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08}, {"ACK", 0x10}, {"URG", 0x20}, {"ALL", 0x3F}, {"NONE", 0}}

// ParseTCPFlags parses a comma separated list of flag names.
func ParseTCPFlags(s string) (uint8, error) {
	var ret uint8
	for _, f := range strings.Split(s, ",") {
		if f == "" { // strtok skips empty tokens
			continue
		}
		found := false
		for _, n := range tcpFlagNames {
			if strings.EqualFold(n.name, f) {
				ret |= n.flag
				found = true
				break
			}
		}
		if !found {
			return 0, Errorf("Unknown TCP flag `%s'", f)
		}
	}
	return ret, nil
}

// TCPFlagsString prints flags as print_tcpf does.
func TCPFlagsString(flags uint8) string {
	var b strings.Builder
	for flags != 0 {
		i := 0
		for flags&tcpFlagNames[i].flag == 0 {
			i++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tcpFlagNames[i].name)
		flags &^= tcpFlagNames[i].flag
	}
	if b.Len() == 0 {
		return "NONE"
	}
	return b.String()
}

func (t *TCP) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	var err error
	switch o.Name {
	case "source-port", "sport":
		if t.flags&1 != 0 {
			return Errorf("Only one `--source-port' allowed")
		}
		if t.Spts, err = ParsePortRange(arg, "tcp"); err != nil {
			return err
		}
		if invert {
			t.Inv |= TCPInvSrcPt
		}
		t.flags |= 1
	case "destination-port", "dport":
		if t.flags&2 != 0 {
			return Errorf("Only one `--destination-port' allowed")
		}
		if t.Dpts, err = ParsePortRange(arg, "tcp"); err != nil {
			return err
		}
		if invert {
			t.Inv |= TCPInvDstPt
		}
		t.flags |= 2
	case "syn", "tcp-flags":
		if t.flags&4 != 0 {
			return Errorf("Only one of `--syn' or `--tcp-flags'  allowed")
		}
		mask, cmp := "SYN,RST,ACK,FIN", "SYN"
		if o.Name == "tcp-flags" {
			next, ok := c.PeekArg()
			if !ok || strings.HasPrefix(next, "-") || strings.HasPrefix(next, "!") {
				return Errorf("--tcp-flags requires two args.")
			}
			mask, cmp = arg, next
		}
		if t.FlgMask, err = ParseTCPFlags(mask); err != nil {
			return err
		}
		if t.FlgCmp, err = ParseTCPFlags(cmp); err != nil {
			return err
		}
		if o.Name == "tcp-flags" {
			c.NextArg()
		}
		if invert {
			t.Inv |= TCPInvFlags
		}
		t.flags |= 4
	case "tcp-option":
		if t.flags&8 != 0 {
			return Errorf("Only one `--tcp-option' allowed")
		}
		v, ok := ParseUint(arg, 1, 255)
		if !ok {
			return Errorf("Bad TCP option \"%s\"", arg)
		}
		t.Option = uint8(v)
		if invert {
			t.Inv |= TCPInvOption
		}
		t.flags |= 8
	}
	return nil
}

func (t *TCP) Final(c *Ctx) error { return nil }

// SavePorts prints " [!] --NAME lo[:hi]" unless the range is the full one
// and not inverted.
// 1.8.13: an inverted full range ("! --sport :") is saved as "! --sport
// 0:65535"; 1.8.9 drops it (differential tests skip "tcp-inverted-full-range").
func SavePorts(b *strings.Builder, name string, r [2]uint16, inv bool) {
	if r[0] == 0 && r[1] == 0xFFFF && !inv {
		return
	}
	if inv {
		b.WriteString(" !")
	}
	if r[0] != r[1] {
		fmt.Fprintf(b, " --%s %d:%d", name, r[0], r[1])
	} else {
		fmt.Fprintf(b, " --%s %d", name, r[0])
	}
}

func (t *TCP) Save(b *strings.Builder, c *Ctx) {
	SavePorts(b, "sport", t.Spts, t.Inv&TCPInvSrcPt != 0)
	SavePorts(b, "dport", t.Dpts, t.Inv&TCPInvDstPt != 0)
	if t.Option != 0 || t.Inv&TCPInvOption != 0 {
		if t.Inv&TCPInvOption != 0 {
			b.WriteString(" !")
		}
		fmt.Fprintf(b, " --tcp-option %d", t.Option)
	}
	if t.FlgMask != 0 || t.Inv&TCPInvFlags != 0 {
		if t.Inv&TCPInvFlags != 0 {
			b.WriteString(" !")
		}
		b.WriteString(" --tcp-flags " + TCPFlagsString(t.FlgMask) + " " + TCPFlagsString(t.FlgCmp))
	}
}

// PrintPort prints a port as a service name unless numeric.
func PrintPort(b *strings.Builder, port uint16, proto string, numeric bool) {
	if !numeric {
		if s, ok := PortToService(port, proto); ok {
			b.WriteString(s)
			return
		}
	}
	fmt.Fprintf(b, "%d", port)
}

// PrintPorts is the tcp/udp print_ports: " spt:22", " dpts:1:2".
func PrintPorts(b *strings.Builder, name string, r [2]uint16, inv bool, proto string, numeric bool) {
	if r[0] == 0 && r[1] == 0xFFFF && !inv {
		return
	}
	invs := ""
	if inv {
		invs = "!"
	}
	b.WriteString(" " + name)
	if r[0] == r[1] {
		b.WriteString(":" + invs)
		PrintPort(b, r[0], proto, numeric)
	} else {
		b.WriteString("s:" + invs)
		PrintPort(b, r[0], proto, numeric)
		b.WriteByte(':')
		PrintPort(b, r[1], proto, numeric)
	}
}

func (t *TCP) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" tcp")
	PrintPorts(b, "spt", t.Spts, t.Inv&TCPInvSrcPt != 0, "tcp", numeric)
	PrintPorts(b, "dpt", t.Dpts, t.Inv&TCPInvDstPt != 0, "tcp", numeric)
	if t.Option != 0 || t.Inv&TCPInvOption != 0 {
		inv := ""
		if t.Inv&TCPInvOption != 0 {
			inv = "!"
		}
		fmt.Fprintf(b, " option=%s%d", inv, t.Option)
	}
	if t.FlgMask != 0 || t.Inv&TCPInvFlags != 0 {
		b.WriteString(" flags:")
		if t.Inv&TCPInvFlags != 0 {
			b.WriteString("!")
		}
		if numeric {
			fmt.Fprintf(b, "0x%02X/0x%02X", t.FlgMask, t.FlgCmp)
		} else {
			b.WriteString(TCPFlagsString(t.FlgMask) + "/" + TCPFlagsString(t.FlgCmp))
		}
	}
}

// portMatch is the kernel's port_match.
func portMatch(r [2]uint16, port uint16, inv bool) bool {
	return (port >= r[0] && port <= r[1]) != inv
}

// Match is xt_tcpudp's tcp_mt.
func (t *TCP) Match(p *Pkt) bool {
	if off := p.FragOffset(); off != 0 {
		if off == 1 {
			p.HotDrop = true // "evil" TCP fragment at offset 8
		}
		return false
	}
	l4 := p.L4()
	if len(l4) < 20 {
		p.HotDrop = true
		return false
	}
	if !portMatch(t.Spts, p.SrcPort, t.Inv&TCPInvSrcPt != 0) || !portMatch(t.Dpts, p.DstPort, t.Inv&TCPInvDstPt != 0) {
		return false
	}
	if (l4[13]&t.FlgMask == t.FlgCmp) == (t.Inv&TCPInvFlags != 0) {
		return false
	}
	if t.Option != 0 {
		doff := int(l4[12]>>4) * 4
		if doff < 20 {
			p.HotDrop = true
			return false
		}
		return tcpFindOption(t.Option, l4, doff-20, t.Inv&TCPInvOption != 0, p)
	}
	return true
}

func tcpFindOption(kind uint8, l4 []byte, optlen int, invert bool, p *Pkt) bool {
	if optlen == 0 {
		return invert
	}
	if 20+optlen > len(l4) {
		p.HotDrop = true
		return false
	}
	op := l4[20 : 20+optlen]
	for i := 0; i < optlen; {
		if op[i] == kind {
			return !invert
		}
		if op[i] < 2 || i+1 >= optlen {
			i++
		} else if op[i+1] == 0 {
			i++
		} else {
			i += int(op[i+1])
		}
	}
	return invert
}
