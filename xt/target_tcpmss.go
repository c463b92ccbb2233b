package xt

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// TCPMSS: -j TCPMSS --set-mss value | --clamp-mss-to-pmtu  (libxt_TCPMSS,
// struct xt_tcpmss_info). The options do not exclude each other: the last
// one given wins. The kernel wants "-p tcp" and a tcp match on SYN
// (xt_TCPMSS's checkentry), and clamping only from FORWARD, OUTPUT and
// POSTROUTING.

var tcpmssTarget = Def{
	Name: "TCPMSS",
	Kind: KindTarget,
	Options: []Option{
		{Name: "set-mss", Arg: true},
		{Name: "clamp-mss-to-pmtu"},
	},
	New:   func() Ext { return &TCPMSSInfo{} },
	Proto: 6,
}

// TCPMSSClampPMTU is XT_TCPMSS_CLAMP_PMTU.
const TCPMSSClampPMTU = 0xffff

// TCPMSSInfo is struct xt_tcpmss_info.
type TCPMSSInfo struct {
	MSS   uint16
	given bool
}

func (t *TCPMSSInfo) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "set-mss":
		// UINT16_MAX less the IP header: 20 bytes (IPv4) or 40 (IPv6).
		max := uint64(0xFFFF - 20)
		if c.Family == FamilyIPv6 {
			max = 0xFFFF - 40
		}
		v, err := ParseUintOpt("TCPMSS", o.Name, arg, 0, max)
		if err != nil {
			return err
		}
		t.MSS = uint16(v)
	case "clamp-mss-to-pmtu":
		t.MSS = TCPMSSClampPMTU
	}
	t.given = true
	return nil
}

// Final is TCPMSS_check.
func (t *TCPMSSInfo) Final(c *Ctx) error {
	if !t.given {
		return Errorf("TCPMSS target: At least one parameter is required")
	}
	return nil
}

// Check is tcpmss_tg4_check: clamping needs a route (FORWARD, OUTPUT,
// POSTROUTING), and the rule must have a tcp match whose compared flags
// include SYN, not inverted.
func (t *TCPMSSInfo) Check(c *Ctx) error {
	if t.MSS == TCPMSSClampPMTU && c.Hooks&^(MaskFwd|MaskOut|MaskPost) != 0 {
		return EINVAL("xt_TCPMSS: path-MTU clamping only supported in FORWARD, OUTPUT and POSTROUTING hooks")
	}
	for _, m := range c.Matches {
		if m.Def.Name != "tcp" {
			continue
		}
		if tcp, ok := m.Ext.(*TCP); ok && tcp.FlgCmp&0x02 != 0 && tcp.Inv&TCPInvFlags == 0 {
			return nil
		}
	}
	return EINVAL("xt_TCPMSS: Only works on TCP SYN packets")
}

func (t *TCPMSSInfo) Save(b *strings.Builder, c *Ctx) {
	if t.MSS == TCPMSSClampPMTU {
		b.WriteString(" --clamp-mss-to-pmtu")
	} else {
		fmt.Fprintf(b, " --set-mss %d", t.MSS)
	}
}

func (t *TCPMSSInfo) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if t.MSS == TCPMSSClampPMTU {
		b.WriteString(" TCPMSS clamp to PMTU")
	} else {
		fmt.Fprintf(b, " TCPMSS set %d", t.MSS)
	}
}

// Target is tcpmss_tg4 (tcpmss_mangle_packet): an MSS option above the
// new MSS is lowered to it (never raised); a SYN without one, and without
// data after its header, gets one (at most 536, RFC 1122's default), the
// packet 4 bytes longer. The new MSS is --set-mss, or for
// --clamp-mss-to-pmtu the smaller of the route's MTU and the MTU of the
// route back to the source, less 40. A packet too short for its TCP
// header, or a path MTU of 40 or less, is dropped.
func (t *TCPMSSInfo) Target(p *Pkt) Verdict {
	if p.FragOffset() != 0 {
		return VerdictContinue
	}
	const minlen = 40 // IPv4 and TCP headers
	b := p.B
	hoff := p.IHL
	n := len(b) - hoff
	if n < 20 {
		return VerdictDrop
	}
	hl := int(b[hoff+12]>>4) * 4
	if n < hl || hl < 20 {
		return VerdictDrop
	}
	newmss := t.MSS
	if t.MSS == TCPMSSClampPMTU {
		mtu := uint32(0xFFFF)
		in := ^uint32(0)
		if p.Env != nil && p.Env.DevMTU != nil && p.OutIface != "" {
			mtu = p.Env.DevMTU(p.OutIface)
		}
		if p.Env != nil && p.Env.RouteMTU != nil {
			in = p.Env.RouteMTU(p.Src)
		}
		if in < mtu {
			mtu = in
		}
		if mtu <= minlen {
			return VerdictDrop
		}
		newmss = uint16(mtu - minlen)
	}
	th := b[hoff:]
	check := th[16:18]
	for i := 20; i <= hl-4; {
		if th[i] == 2 && th[i+1] == 4 {
			old := binary.BigEndian.Uint16(th[i+2:])
			if old <= newmss {
				return VerdictContinue
			}
			binary.BigEndian.PutUint16(th[i+2:], newmss)
			if !p.CsumPartial {
				packet.CsumReplace2(check, old, newmss)
			}
			return VerdictContinue
		}
		// optlen: NOP, EOL and zero lengths advance by one
		if th[i] <= 1 || th[i+1] == 0 {
			i++
		} else {
			i += int(th[i+1])
		}
	}
	if n > hl || hl >= 15*4 {
		return VerdictContinue
	}
	if newmss > 536 {
		newmss = 536
	}
	// The option goes first, the others move 4 bytes on. The packet is
	// copied to grow: the bytes after it may be someone else's (a
	// capture's buffer).
	nb := make([]byte, len(b)+4)
	copy(nb, b)
	b = nb
	th = b[hoff:]
	check = th[16:18]
	copy(th[24:], th[20:n])
	opt := uint32(2)<<24 | 4<<16 | uint32(newmss)
	binary.BigEndian.PutUint32(th[20:], opt)
	if p.CsumPartial {
		packet.CsumReplacePartial4(check, uint32(n), uint32(n+4))
	} else {
		packet.CsumReplace2(check, uint16(n), uint16(n+4))
		packet.CsumReplace4(check, 0, opt)
	}
	oldWord := binary.BigEndian.Uint16(th[12:])
	th[12] += 1 << 4 // doff: one more 32-bit word
	if !p.CsumPartial {
		packet.CsumReplace2(check, oldWord, binary.BigEndian.Uint16(th[12:]))
	}
	tot := binary.BigEndian.Uint16(b[2:])
	binary.BigEndian.PutUint16(b[2:], tot+4)
	packet.CsumReplace2(b[10:12], tot, tot+4)
	p.B = b
	p.TotLen = tot + 4
	p.Reload()
	return VerdictContinue
}
