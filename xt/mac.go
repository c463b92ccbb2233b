package xt

import (
	"fmt"
	"strings"
)

// mac: [!] --mac-source XX:XX:XX:XX:XX:XX  (libxt_mac, struct xt_mac_info).
// The kernel allows it in PREROUTING, INPUT and FORWARD only.

var macMatch = Def{
	Name: "mac",
	Kind: KindMatch,
	Options: []Option{
		{Name: "mac-source", Arg: true, Flags: OptInvert | OptMand},
	},
	New:   func() Ext { return &MAC{} },
	Hooks: MaskPre | MaskIn | MaskFwd,
}

// MAC is struct xt_mac_info.
type MAC struct {
	SrcAddr [6]byte
	Invert  int32
}

// ParseEtherMAC is xtopt_parse_ethermac: six parts separated by ':', each
// read by strtoul base 16 from at most two characters (so "" is 0 and "-1"
// is 0xff, as in C).
func ParseEtherMAC(s string) ([6]byte, error) {
	var mac [6]byte
	bad := Errorf("Invalid MAC address specified.")
	for i := 0; i < 6; i++ {
		v, n, _ := StrtoulPrefix(s, 16)
		rest := s[n:]
		if n > 2 {
			return mac, bad
		}
		mac[i] = byte(v)
		if i < 5 {
			if rest == "" || rest[0] != ':' {
				return mac, bad
			}
			s = rest[1:]
		} else if rest != "" {
			return mac, bad
		}
	}
	return mac, nil
}

// MACString is xtables_print_mac.
func MACString(mac [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}

func (m *MAC) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	mac, err := ParseEtherMAC(arg)
	if err != nil {
		return err
	}
	m.SrcAddr = mac
	if invert {
		m.Invert = 1
	}
	return nil
}

func (m *MAC) Final(c *Ctx) error { return nil }

func (m *MAC) Save(b *strings.Builder, c *Ctx) {
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	b.WriteString(" --mac-source " + MACString(m.SrcAddr))
}

func (m *MAC) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" MAC ")
	if m.Invert != 0 {
		b.WriteString("! ")
	}
	b.WriteString(MACString(m.SrcAddr))
}

// Match is xt_mac's mac_mt: the input device must be Ethernet
// (ARPHRD_ETHER: p.InEther) and the packet must carry a link-layer header
// of at least 14 bytes; otherwise the match fails whatever the inversion
// (the loopback device is ARPHRD_LOOPBACK, so "-i lo -m mac ! --mac-source
// X" never matches either, checked against the kernel). Then the source
// address (bytes 6-11) is compared, and the inversion applies.
func (m *MAC) Match(p *Pkt) bool {
	if !p.InEther || len(p.MAC) < 14 {
		return false
	}
	eq := [6]byte(p.MAC[6:12]) == m.SrcAddr
	return eq != (m.Invert != 0)
}
