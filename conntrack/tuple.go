// Package conntrack is the kernel's IPv4 connection tracking (Linux 6.18
// nf_conntrack) for nfgo's packet engine: tuples, connection entries with
// their TCP/UDP/ICMP/GRE/generic protocol state and timeouts on an injected
// clock, and a sharded hash table with nf_conntrack_max and early drop;
// the events conntrack -E shows (event.go: cached per packet, delivered at
// confirmation, as the kernel's event cache does).
//
// The engine calls Table.In (the kernel's nf_conntrack_in) at PREROUTING
// and OUTPUT, after the raw table (a packet that raw's NOTRACK/CT --notrack
// marked is UNTRACKED and must not be given to In), and Table.Confirm (the
// kernel's nf_conntrack_confirm) after INPUT and POSTROUTING accepted the
// packet. A packet that already carries a conntrack entry (a locally
// generated packet looping back to PREROUTING) keeps it: the kernel's
// nf_conntrack_in returns at once for such packets, and so should the
// engine not call In again.
//
// Wiring, in kernel order:
//   - PREROUTING, after raw (priority -300) and before mangle (-150):
//     ci, ct := table.In(p, now, zone) — zone from raw's CT --zone, 0
//     otherwise; skip it for packets raw made UNTRACKED. ci == Drop: the
//     packet is dropped (table full). Otherwise the packet carries (ci, ct)
//     through the later hooks: ci.StateBit() is what -m state / --ctstate
//     test, ct (nil for INVALID) gives --ctstatus, --ctexpire, tuples and
//     the connmark.
//   - OUTPUT: the same with table.InLocal (checksums not verified,
//     fragments skipped).
//   - When INPUT or POSTROUTING accepts the packet:
//     ct, ok = table.ConfirmPacket(p, ct, ci, now) (nf_confirm: the
//     entry's helper reads the packet, then Confirm); !ok means the
//     kernel drops it.
//   - Raw's CT --helper NAME gives the packet a template: use
//     table.InHelper / InLocalHelper with HelperByName(NAME, proto), so
//     that a connection the packet creates gets the helper.
//   - A packet the host generates in answer to another (REJECT) carries
//     the other's entry with Attach(ci) and is not given to In.
//
// Conntrack sees whole packets: the kernel defragments before it. Non-first
// fragments given to In are INVALID.
//
// Helpers and expectations (helper.go, ftp.go): the ftp helper, attached
// by CT --helper, reads the control connection and creates expectations;
// the first packet of a connection matching one is RELATED, its entry
// EXPECTED with the helper's entry as master. Other helpers are not
// modelled.
//
// NAT is package nat's, over the primitives in nat.go here. Not modelled:
// sequence adjustment,
// accounting and timestamps (sysctls off by default), the SCTP, UDP-Lite
// and DCCP trackers (those protocols are tracked as generic ones), the
// PPTP keymap of GRE, event reporting, and per-CPU statistics.
package conntrack

import "encoding/binary"

// IP protocol numbers with their own trackers here.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
	protoGRE  = 47
)

// Dir is a direction of a connection.
type Dir uint8

const (
	Original Dir = 0
	Reply    Dir = 1
)

// Tuple identifies one direction of a connection (nf_conntrack_tuple for
// IPv4). For TCP and UDP, SrcPort/DstPort are the ports; for ICMP, SrcPort
// is the echo id and Type/Code the message type and code; for GRE (PPTP)
// they are the keys; for other protocols they are zero.
type Tuple struct {
	Src, Dst         uint32
	SrcPort, DstPort uint16
	Proto            uint8
	Type, Code       uint8 // ICMP only
}

// invert returns the tuple of the other direction (nf_ct_invert_tuple);
// false for an ICMP type that has no reply type.
func (t *Tuple) invert() (Tuple, bool) {
	r := Tuple{Src: t.Dst, Dst: t.Src, Proto: t.Proto}
	if t.Proto == protoICMP {
		if int(t.Type) >= len(icmpInvmap) || icmpInvmap[t.Type] == 0 {
			return r, false
		}
		r.SrcPort = t.SrcPort
		r.Type = icmpInvmap[t.Type] - 1
		r.Code = t.Code
		return r, true
	}
	r.SrcPort, r.DstPort = t.DstPort, t.SrcPort
	return r, true
}

// icmpInvmap maps an ICMP query type to its reply type plus one (0: none).
var icmpInvmap = [...]uint8{
	8:  0 + 1, // echo -> echo reply
	0:  8 + 1,
	13: 14 + 1, // timestamp
	14: 13 + 1,
	15: 16 + 1, // info request
	16: 15 + 1,
	17: 18 + 1, // address mask
	18: 17 + 1,
}

// getTuple is nf_ct_get_tuple for IPv4: the addresses come from the
// caller, the protocol part from l4 (the bytes after the IP header).
// false means the packet is not trackable (too short).
func getTuple(src, dst uint32, proto uint8, l4 []byte, t *Tuple) bool {
	*t = Tuple{Src: src, Dst: dst, Proto: proto}
	switch proto {
	case protoICMP:
		if len(l4) < 8 {
			return false
		}
		t.Type, t.Code = l4[0], l4[1]
		t.SrcPort = binary.BigEndian.Uint16(l4[4:6])
	case protoTCP, protoUDP:
		if len(l4) < 4 {
			return false
		}
		t.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		t.DstPort = binary.BigEndian.Uint16(l4[2:4])
	case protoGRE:
		return greTuple(l4, t)
	}
	return true
}

// greTuple is gre_pkt_to_tuple: version 0 GRE is tracked like the
// generic protocol (keys zero); PPTP (version 1) by its call id, the
// source key coming from the PPTP helper's keymap (not modelled: zero).
func greTuple(l4 []byte, t *Tuple) bool {
	if len(l4) < 4 || l4[1]&0x07 != 1 {
		return true
	}
	if len(l4) < 8 {
		return true
	}
	if binary.BigEndian.Uint16(l4[2:4]) != 0x880b { // GRE_PROTO_PPP
		return false
	}
	t.DstPort = binary.BigEndian.Uint16(l4[6:8])
	return true
}

// hash mixes a tuple and zone into 32 bits (the kernel's is a seeded
// siphash; any good mix serves, the seed makes it deterministic).
func hashTuple(t *Tuple, zone uint16, seed uint64) uint32 {
	a := uint64(t.Src)<<32 | uint64(t.Dst)
	b := uint64(t.SrcPort)<<48 | uint64(t.DstPort)<<32 | uint64(t.Proto)<<24 | uint64(t.Type)<<16 | uint64(t.Code)<<8
	h := seed ^ uint64(zone)
	h = mix64(h ^ a)
	h = mix64(h ^ b)
	return uint32(h >> 32)
}

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
