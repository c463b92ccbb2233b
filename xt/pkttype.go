package xt

import (
	"strconv"
	"strings"
)

// pkttype: [!] --pkt-type {unicast|broadcast|multicast|otherhost}
// (libxt_pkttype, struct xt_pkttype_info).

var pkttypeMatch = Def{
	Name: "pkttype",
	Kind: KindMatch,
	Options: []Option{
		{Name: "pkt-type", Arg: true, Flags: OptInvert | OptMand},
	},
	New: func() Ext { return &PktType{} },
}

// Packet types (linux/if_packet.h).
const (
	PacketHost      = 0
	PacketBroadcast = 1
	PacketMulticast = 2
	PacketOtherHost = 3
)

// PktType is struct xt_pkttype_info.
type PktType struct {
	PktType uint32
	Invert  uint32
}

// pkttypeNames is supported_types: names first, then the aliases.
var pkttypeNames = []struct {
	name string
	typ  uint32
}{
	{"unicast", PacketHost},
	{"broadcast", PacketBroadcast},
	{"multicast", PacketMulticast},
	{"otherhost", PacketOtherHost},
	{"bcast", PacketBroadcast},
	{"mcast", PacketMulticast},
	{"host", PacketHost},
}

func (m *PktType) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	found := false
	for _, n := range pkttypeNames {
		if StrCaseEqual(arg, n.name) {
			m.PktType, found = n.typ, true
			break
		}
	}
	if !found {
		return Errorf("Bad packet type '%s'", arg)
	}
	if invert {
		m.Invert = 1
	}
	return nil
}

func (m *PktType) Final(c *Ctx) error { return nil }

func (m *PktType) typeName() string {
	for _, n := range pkttypeNames {
		if n.typ == m.PktType {
			return n.name
		}
	}
	return strconv.Itoa(int(int32(m.PktType)))
}

func (m *PktType) Save(b *strings.Builder, c *Ctx) {
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	b.WriteString(" --pkt-type " + m.typeName())
}

func (m *PktType) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" PKTTYPE ")
	if m.Invert != 0 {
		b.WriteByte('!')
	}
	b.WriteString("= " + m.typeName())
}

// PacketLoopback is PACKET_LOOPBACK: a locally sent multicast or
// broadcast packet looped back to the host (dev_loopback_xmit).
const PacketLoopback = 5

// PktTypeOf is skb->pkt_type as the IPv4 hooks see it.
//
//   - Received packets (PREROUTING, INPUT, FORWARD) carry the type
//     eth_type_trans gave them from the link-layer destination in p.MAC:
//     the group bit set means multicast, or broadcast for ff:ff:ff:ff:ff:ff;
//     anything else is PACKET_HOST. (A unicast frame for another host is
//     PACKET_OTHERHOST, but ip_rcv_core drops those before PREROUTING, so
//     a unicast destination that reaches the rules is the host's own, and
//     nfgo need not know the device's address. Checked against the kernel:
//     "--pkt-type otherhost" never counts in any IPv4 hook.)
//   - A received packet with no link-layer header on a device that has
//     one (p.InHardHeaderLen > 0) is the looped-back copy of a multicast or
//     broadcast this host sent (dev_loopback_xmit resets the MAC header):
//     PACKET_LOOPBACK. Without a device header length (a TUN or other
//     headerless device) the type is PACKET_HOST.
//   - Locally generated packets (OUTPUT, POSTROUTING) are PACKET_HOST
//     whatever their destination (the skb is allocated so, and the
//     loopback copy becomes PACKET_LOOPBACK only after POSTROUTING);
//     forwarded packets are PACKET_HOST (ip_forward forwards nothing
//     else). Checked against the kernel: a broadcast ping and a multicast
//     datagram count as unicast in OUTPUT and POSTROUTING, and as
//     broadcast and multicast in PREROUTING and INPUT.
func PktTypeOf(p *Pkt) uint8 {
	switch p.Hook {
	case HookPreRouting, HookLocalIn, HookForward:
	default:
		return PacketHost
	}
	if len(p.MAC) >= 6 {
		if !p.InEther || p.MAC[0]&1 == 0 {
			return PacketHost
		}
		if p.MAC[0]&p.MAC[1]&p.MAC[2]&p.MAC[3]&p.MAC[4]&p.MAC[5] == 0xFF {
			return PacketBroadcast
		}
		return PacketMulticast
	}
	if p.InHardHeaderLen > 0 {
		return PacketLoopback
	}
	return PacketHost
}

// Match is xt_pkttype's pkttype_mt: PACKET_LOOPBACK counts as multicast
// for a multicast destination (224.0.0.0/4) and broadcast otherwise; then
// the type is compared and the inversion applies.
func (m *PktType) Match(p *Pkt) bool {
	t := PktTypeOf(p)
	if t == PacketLoopback {
		if p.Dst>>28 == 0xE {
			t = PacketMulticast
		} else {
			t = PacketBroadcast
		}
	}
	return (uint32(t) == m.PktType) != (m.Invert != 0)
}
