// Package nat is the kernel's IPv4 NAT core (Linux 6.18 nf_nat_core.c,
// nf_nat_proto.c) over nfgo's connection tracking: a connection's binding
// is chosen once, on its first packet (nf_nat_setup_info, with the
// kernel's search for a unique tuple: the original tuple if it fits,
// an existing source mapping, the hashed choice of address, then ports or
// ICMP ids), it lives in the entry's reply tuple, and every later packet
// of either direction is rewritten from it (nf_nat_packet), checksums
// updated incrementally as the kernel updates them. ICMP errors about a
// NATed connection have their quoted header rewritten too.
//
// The NAT targets (package xt) call SetupInfo; the engine (package
// netfilter) calls Initialized, NullBinding, Packet and ICMPReply at the
// nat hooks.
//
// Not modelled: the ftp helper's NAT (nf_nat_ftp rewriting PORT/PASV
// commands, with sequence adjustment), SCTP/DCCP/UDP-Lite ports (those
// protocols are tracked as generic ones, so their ports are not
// mapped) and PPTP's GRE keys. A packet whose transport checksum is
// CHECKSUM_PARTIAL (a GSO super-packet from an offloading device) has
// that field updated the kernel's partial way (see Packet).
package nat

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/jhash"
	"github.com/nfgo/nfgo/packet"
)

// Range flags (NF_NAT_RANGE_*).
const (
	RangeMapIPs          = 1 << 0
	RangeProtoSpecified  = 1 << 1
	RangeProtoRandom     = 1 << 2
	RangePersistent      = 1 << 3
	RangeProtoRandomFull = 1 << 4
	RangeProtoOffset     = 1 << 5

	rangeProtoRandomAll = RangeProtoRandom | RangeProtoRandomFull
)

// Range is struct nf_nat_range2 for IPv4, addresses and ports in host
// order. For ICMP the protocol part is the echo id.
type Range struct {
	Flags            uint32
	MinAddr, MaxAddr uint32
	MinProto         uint16
	MaxProto         uint16
	BaseProto        uint16
}

// Manip is the kind of mapping: the source (POSTROUTING, INPUT) or the
// destination (PREROUTING, OUTPUT).
type Manip uint8

const (
	Src Manip = 0 // NF_NAT_MANIP_SRC
	Dst Manip = 1 // NF_NAT_MANIP_DST
)

const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
	protoGRE  = 47

	maxAttempts  = 128             // NF_NAT_MAX_ATTEMPTS
	harderThresh = maxAttempts / 4 // NF_NAT_HARDER_THRESH
)

// Ctx is what a binding's search needs: the table (is a tuple taken?),
// the time (expired entries do not count) and randomness (the port
// search's starting offset, the kernel's get_random_u16).
type Ctx struct {
	Table *conntrack.Table
	Now   int64
	Rand  func() uint32
}

func (x *Ctx) rand16() uint16 {
	if x.Rand == nil {
		return 0
	}
	return uint16(x.Rand())
}

func doneBit(m Manip) uint32 {
	if m == Src {
		return conntrack.StatusSrcNATDone
	}
	return conntrack.StatusDstNATDone
}

// Initialized is nf_nat_initialized: the binding of this manip is set.
func Initialized(ct *conntrack.Conn, m Manip) bool { return ct.Status()&doneBit(m) != 0 }

func invert(t conntrack.Tuple) conntrack.Tuple {
	r, _ := t.Invert()
	return r
}

// SetupInfo is nf_nat_setup_info: choose the connection's binding for
// this manip within r and record it in the entry. It returns false when
// the kernel would drop the packet (the manip was already set up).
// A confirmed entry is left unchanged.
func SetupInfo(x *Ctx, ct *conntrack.Conn, r *Range, m Manip) bool {
	if ct.Confirmed() {
		return true
	}
	if Initialized(ct, m) {
		return false
	}
	// What we have looks like the inverse of the reply (earlier manips
	// included).
	curr := invert(ct.Tuple(conntrack.Reply))
	nt := x.uniqueTuple(&curr, r, ct, m)
	if nt != curr {
		ct.AlterReply(invert(nt))
		if m == Src {
			ct.SetStatus(conntrack.StatusSrcNAT)
		} else {
			ct.SetStatus(conntrack.StatusDstNAT)
		}
	}
	if m == Src {
		ct.MarkSourceMapped()
	}
	ct.SetStatus(doneBit(m))
	return true
}

// NullBinding is nf_nat_alloc_null_binding: a connection no NAT rule took
// at this manip keeps its address, but its ports may still change when
// its tuple clashes with an existing one.
func NullBinding(x *Ctx, ct *conntrack.Conn, m Manip) bool {
	rp := ct.Tuple(conntrack.Reply)
	ip := rp.Src
	if m == Src {
		ip = rp.Dst
	}
	r := Range{Flags: RangeMapIPs, MinAddr: ip, MaxAddr: ip}
	return SetupInfo(x, ct, &r, m)
}

// uniqueTuple is get_unique_tuple.
func (x *Ctx) uniqueTuple(orig *conntrack.Tuple, r *Range, ct *conntrack.Conn, m Manip) conntrack.Tuple {
	// 1) A source mapping: the original tuple if it is in range and
	// free, else the mapping this source already has, if in range.
	if m == Src && r.Flags&rangeProtoRandomAll == 0 {
		if inRange(orig, r) {
			if !x.usedTupleNew(orig, ct) {
				return *orig
			}
		} else if t, ok := x.appropriateSrc(orig, ct.Zone(), r); ok {
			if !x.usedTuple(&t, ct) {
				return t
			}
		}
	}
	// 2) The address: hashed over the range.
	t := *orig
	bestIPs(&t, r, ct.Zone(), m)
	// 3) The port or id, unless already in range and unique.
	if r.Flags&rangeProtoRandomAll == 0 {
		if r.Flags&RangeProtoSpecified != 0 {
			if r.Flags&RangeProtoOffset == 0 && l4InRange(&t, m, r.MinProto, r.MaxProto) &&
				(r.MinProto == r.MaxProto || !x.usedTuple(&t, ct)) {
				return t
			}
		} else if !x.usedTuple(&t, ct) {
			return t
		}
	}
	x.l4UniqueTuple(&t, r, m, ct)
	return t
}

// l4InRange is l4proto_in_range.
func l4InRange(t *conntrack.Tuple, m Manip, min, max uint16) bool {
	var port uint16
	switch t.Proto {
	case protoICMP:
		return t.SrcPort >= min && t.SrcPort <= max
	case protoTCP, protoUDP, protoGRE:
		port = t.DstPort
		if m == Src {
			port = t.SrcPort
		}
		return port >= min && port <= max
	}
	return true
}

// inRange is nf_in_range: would source-mapping this tuple meet r?
func inRange(t *conntrack.Tuple, r *Range) bool {
	if r.Flags&RangeMapIPs != 0 && (t.Src < r.MinAddr || t.Src > r.MaxAddr) {
		return false
	}
	if r.Flags&RangeProtoSpecified == 0 {
		return true
	}
	return l4InRange(t, Src, r.MinProto, r.MaxProto)
}

// appropriateSrc is find_appropriate_src: an existing connection from
// the same source (protocol, address, port) whose mapping fits r.
func (x *Ctx) appropriateSrc(orig *conntrack.Tuple, zone uint16, r *Range) (conntrack.Tuple, bool) {
	var res conntrack.Tuple
	found := false
	x.Table.SourceMappings(*orig, zone, x.Now, func(reply conntrack.Tuple) bool {
		t := invert(reply)
		t.Dst, t.DstPort, t.Type, t.Code = orig.Dst, orig.DstPort, orig.Type, orig.Code
		if t.Proto == protoICMP {
			// The id lives in the source half of an ICMP tuple.
			t.SrcPort = invert(reply).SrcPort
		}
		if inRange(&t, r) {
			res, found = t, true
			return true
		}
		return false
	})
	return res, found
}

// bestIPs is find_best_ips_proto: with several addresses, the choice is a
// hash of the source and (unless --persistent) the destination, so that
// one client keeps one address.
func bestIPs(t *conntrack.Tuple, r *Range, zone uint16, m Manip) {
	if r.Flags&RangeMapIPs == 0 {
		return
	}
	v := &t.Dst
	if m == Src {
		v = &t.Src
	}
	if r.MinAddr == r.MaxAddr {
		*v = r.MinAddr
		return
	}
	// jhash2 over the 16-byte address union as the CPU reads it (little
	// endian), the rest of an IPv4 address's union being zero.
	initval := uint32(0)
	if r.Flags&RangePersistent == 0 {
		initval = le32(t.Dst) ^ uint32(zone)
	}
	j := jhash.Words([]uint32{le32(t.Src), 0, 0, 0}, initval)
	dist := r.MaxAddr - r.MinAddr + 1
	*v = r.MinAddr + uint32(uint64(j)*uint64(dist)>>32)
}

// le32 is an address in network order loaded as a little-endian word.
func le32(a uint32) uint32 {
	return a>>24 | a>>8&0xFF00 | a<<8&0xFF0000 | a<<24
}

// l4UniqueTuple is nf_nat_l4proto_unique_tuple: search the port (or ICMP
// id) range for a free tuple from a random offset, 128 tries at most,
// then rounds of half as many from new random offsets.
func (x *Ctx) l4UniqueTuple(t *conntrack.Tuple, r *Range, m Manip, ct *conntrack.Conn) {
	var key *uint16
	var min, size uint32
	spec := r.Flags&RangeProtoSpecified != 0
	switch t.Proto {
	case protoICMP:
		key = &t.SrcPort
		if !spec {
			min, size = 0, 65536
		} else {
			min, size = uint32(r.MinProto), uint32(r.MaxProto)-uint32(r.MinProto)+1
		}
	case protoGRE:
		if ct.Master() == nil {
			return // not PPTP: keys are not changed
		}
		key = &t.DstPort
		if m == Src {
			key = &t.SrcPort
		}
		if !spec {
			min, size = 1, 65535
		} else {
			min, size = uint32(r.MinProto), uint32(r.MaxProto)-uint32(r.MinProto)+1
		}
	case protoTCP, protoUDP:
		key = &t.DstPort
		if m == Src {
			key = &t.SrcPort
		}
		if !spec {
			if m == Dst {
				return // a destination port is never changed unasked
			}
			switch k := *key; {
			case k < 512:
				min, size = 1, 511
			case k < 1024:
				min, size = 600, 1023-600+1
			default:
				min, size = 1024, 65535-1024+1
			}
		} else {
			lo, hi := uint32(r.MinProto), uint32(r.MaxProto)
			if hi < lo {
				lo, hi = hi, lo
			}
			min, size = lo, hi-lo+1
		}
	default:
		return
	}
	var off uint16
	if r.Flags&RangeProtoOffset != 0 {
		off = *key - r.BaseProto
	} else {
		off = x.rand16()
	}
	attempts := size
	if attempts > maxAttempts {
		attempts = maxAttempts
	}
	for {
		for i := uint32(0); i < attempts; i, off = i+1, off+1 {
			*key = uint16(min + uint32(off)%size)
			if !x.usedTupleHarder(t, ct, attempts-i) {
				return
			}
		}
		if attempts >= size || attempts < 16 {
			return
		}
		attempts /= 2
		off = x.rand16()
	}
}

// usedTuple is nf_nat_used_tuple: a connection already receives replies
// on the reply tuple this mapping would give.
func (x *Ctx) usedTuple(t *conntrack.Tuple, ct *conntrack.Conn) bool {
	return x.Table.TupleTaken(invert(*t), ct, x.Now)
}

const usesNAT = conntrack.StatusSrcNAT | conntrack.StatusDstNAT | conntrack.StatusSeqAdjust

// usedTupleNew is nf_nat_used_tuple_new: as usedTuple, except that a
// clash with the same flow seen the other way round (both picked up as
// new on different CPUs), neither subject to NAT, is left to the clash
// resolution at confirmation.
func (x *Ctx) usedTupleNew(t *conntrack.Tuple, ct *conntrack.Conn) bool {
	if !x.usedTuple(t, ct) {
		return false
	}
	if !conntrack.AllowClash(ct.Proto()) {
		return true
	}
	if ct.Status()&usesNAT != 0 {
		return true
	}
	other, dir := x.Table.Find(*t, ct.Zone(), x.Now)
	if other == nil {
		return false
	}
	if dir != conntrack.Reply || other.Status()&usesNAT != 0 {
		return true
	}
	if other.Tuple(conntrack.Original) == ct.Tuple(conntrack.Reply) &&
		other.Tuple(conntrack.Reply) == ct.Tuple(conntrack.Original) {
		return false
	}
	return true
}

// usedTupleHarder is nf_nat_used_tuple_harder: in the last 32 tries for
// a new TCP connection, a clashing source-NATed connection that is
// closing (TIME_WAIT or later) is evicted when the new one's sequence
// number has moved past the old one's.
func (x *Ctx) usedTupleHarder(t *conntrack.Tuple, ct *conntrack.Conn, left uint32) bool {
	reply := invert(*t)
	if left > harderThresh || t.Proto != protoTCP || ct.TCPState() != conntrack.TCPSynSent {
		return x.Table.TupleTaken(reply, ct, x.Now)
	}
	other, dir := x.Table.Find(reply, ct.Zone(), x.Now)
	if other == nil {
		return false
	}
	if dir == conntrack.Original || other == ct {
		return true
	}
	st := other.Status()
	if other.TCPState() < conntrack.TCPTimeWait ||
		st&(conntrack.StatusFixedTimeout|conntrack.StatusDying) != 0 ||
		st&conntrack.StatusSrcNAT == 0 {
		return true
	}
	if int32(ct.TCPSeenEnd(conntrack.Original)-other.TCPSeenEnd(conntrack.Original)) <= 0 {
		return true
	}
	return !x.Table.Delete(other, x.Now)
}

// OriginalDst is what getsockopt(SO_ORIGINAL_DST) answers a transparent
// proxy: for the connection whose reply the proxy's socket sees (local
// address and port, peer address and port, TCP), the destination the
// client originally asked for. ok is false when no such connection is
// tracked (the kernel's ENOENT).
func OriginalDst(t *conntrack.Table, local uint32, localPort uint16, peer uint32, peerPort uint16, now int64) (addr uint32, port uint16, ok bool) {
	tp := conntrack.Tuple{Src: local, SrcPort: localPort, Dst: peer, DstPort: peerPort, Proto: protoTCP}
	ct, _ := t.Find(tp, 0, now)
	if ct == nil {
		return 0, 0, false
	}
	o := ct.Tuple(conntrack.Original)
	return o.Dst, o.DstPort, true
}

// Packet is nf_nat_packet: rewrite packet b (an IPv4 packet, header at
// offset 0) as the entry's binding says for this manip and direction.
// rewritten says whether it changed; ok false means the kernel drops it
// (too short to rewrite). partial says the TCP/UDP checksum field holds
// only the pseudo-header sum (CHECKSUM_PARTIAL): it then follows the
// address change in the opposite sense to a complete checksum and
// ignores the port change, which the final sum will cover, as
// inet_proto_csum_replace4 does.
func Packet(ct *conntrack.Conn, ci conntrack.CtInfo, m Manip, b []byte, partial bool) (rewritten, ok bool) {
	bit := uint32(conntrack.StatusDstNAT)
	if m == Src {
		bit = conntrack.StatusSrcNAT
	}
	dir := conntrack.Original
	if ci.IsReply() {
		dir = conntrack.Reply
		bit ^= conntrack.StatusSrcNAT | conntrack.StatusDstNAT
	}
	if ct.Status()&bit == 0 {
		return false, true
	}
	// Aim to look like the inverse of the other direction.
	target := manipTarget(ct.Tuple(1 - dir))
	return true, manipPkt(b, 0, &target, m, partial)
}

// ICMPReply is nf_nat_icmp_reply_translation: an ICMP error RELATED to a
// NATed connection gets the header it quotes mapped back (and its ICMP
// checksum recomputed), then its own addresses mapped like the
// connection's packets. verify asks for the ICMP checksum to be checked
// first (nf_ip_checksum at PREROUTING for an unverified packet). false
// means drop.
func ICMPReply(ct *conntrack.Conn, ci conntrack.CtInfo, m Manip, b []byte, verify bool) bool {
	hl := int(b[0]&0x0F) * 4
	if len(b) < hl+8+20 {
		return false
	}
	icmp := b[hl:]
	if verify && checksum(icmp, 0) != 0 {
		return false
	}
	st := ct.Status()
	if icmp[0] == 5 { // redirect: only for connections with no NAT at all
		const doneMask = conntrack.StatusSrcNATDone | conntrack.StatusDstNATDone
		if st&doneMask != doneMask || st&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) != 0 {
			return false
		}
	}
	bit := uint32(conntrack.StatusDstNAT)
	if m == Src {
		bit = conntrack.StatusSrcNAT
	}
	dir := conntrack.Original
	if ci.IsReply() {
		dir = conntrack.Reply
		bit ^= conntrack.StatusSrcNAT | conntrack.StatusDstNAT
	}
	if st&bit == 0 {
		return true
	}
	other := ct.Tuple(1 - dir)
	if !manipPkt(b, hl+8, &other, 1-m, false) {
		return false
	}
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:4], checksum(icmp, 0))
	target := invert(other)
	target.Proto = protoICMP
	return manipPkt(b, 0, &target, m, false)
}

// manipTarget is the inverse of o as far as manipPkt reads it
// (addresses, ports, the ICMP id): nf_ct_invert_tuple without the ICMP
// type mapping, which the hot path does not need.
func manipTarget(o conntrack.Tuple) conntrack.Tuple {
	t := conntrack.Tuple{Src: o.Dst, Dst: o.Src, Proto: o.Proto}
	if o.Proto == protoICMP {
		t.SrcPort = o.SrcPort
	} else {
		t.SrcPort, t.DstPort = o.DstPort, o.SrcPort
	}
	return t
}

// manipPkt is nf_nat_ipv4_manip_pkt: the transport part, then the
// address, of the IPv4 header at off.
func manipPkt(b []byte, off int, t *conntrack.Tuple, m Manip, partial bool) bool {
	if len(b) < off+20 {
		return false
	}
	hl := off + int(b[off]&0x0F)*4
	if !l4Manip(b, off, hl, t, m, partial) {
		return false
	}
	ip := b[off:]
	if m == Src {
		csumReplace4(ip[10:12], binary.BigEndian.Uint32(ip[12:16]), t.Src)
		binary.BigEndian.PutUint32(ip[12:16], t.Src)
	} else {
		csumReplace4(ip[10:12], binary.BigEndian.Uint32(ip[16:20]), t.Dst)
		binary.BigEndian.PutUint32(ip[16:20], t.Dst)
	}
	return true
}

// l4Manip is l4proto_manip_pkt. A quoted header inside an ICMP error may
// carry only 8 bytes of TCP: its checksum is then left alone.
func l4Manip(b []byte, ipOff, hl int, t *conntrack.Tuple, m Manip, partial bool) bool {
	switch t.Proto {
	case protoTCP:
		size := 8
		if len(b) >= hl+20 {
			size = 20
		}
		if len(b) < hl+size {
			return false
		}
		h := b[hl:]
		port, at := t.DstPort, 2
		if m == Src {
			port, at = t.SrcPort, 0
		}
		old := binary.BigEndian.Uint16(h[at:])
		binary.BigEndian.PutUint16(h[at:], port)
		if size < 20 {
			return true
		}
		if partial {
			pseudoUpdatePartial(b, ipOff, h[16:18], t, m)
			return true
		}
		pseudoUpdate(b, ipOff, h[16:18], t, m)
		csumReplace2(h[16:18], old, port)
	case protoUDP:
		if len(b) < hl+8 {
			return false
		}
		h := b[hl:]
		port, at := t.DstPort, 2
		if m == Src {
			port, at = t.SrcPort, 0
		}
		if partial {
			pseudoUpdatePartial(b, ipOff, h[6:8], t, m)
			if h[6] == 0 && h[7] == 0 {
				h[6], h[7] = 0xFF, 0xFF // CSUM_MANGLED_0
			}
		} else if h[6] != 0 || h[7] != 0 {
			pseudoUpdate(b, ipOff, h[6:8], t, m)
			csumReplace2(h[6:8], binary.BigEndian.Uint16(h[at:]), port)
			if h[6] == 0 && h[7] == 0 {
				h[6], h[7] = 0xFF, 0xFF // CSUM_MANGLED_0
			}
		}
		binary.BigEndian.PutUint16(h[at:], port)
	case protoICMP:
		if len(b) < hl+8 {
			return false
		}
		h := b[hl:]
		switch h[0] {
		case 8, 0, 13, 14, 15, 16, 17, 18: // queries and their replies
		default:
			return true
		}
		csumReplace2(h[2:4], binary.BigEndian.Uint16(h[4:6]), t.SrcPort)
		binary.BigEndian.PutUint16(h[4:6], t.SrcPort)
	case protoGRE:
		if len(b) < hl+8 {
			return false
		}
		if m != Dst {
			return true
		}
		switch b[hl+1] & 0x07 {
		case 0:
		case 1:
			binary.BigEndian.PutUint16(b[hl+6:], t.DstPort) // PPTP call id
		default:
			return false
		}
	}
	return true
}

// pseudoUpdate is nf_nat_ipv4_csum_update: a transport checksum follows
// the address change through the pseudo header.
func pseudoUpdate(b []byte, ipOff int, c []byte, t *conntrack.Tuple, m Manip) {
	ip := b[ipOff:]
	if m == Src {
		csumReplace4(c, binary.BigEndian.Uint32(ip[12:16]), t.Src)
	} else {
		csumReplace4(c, binary.BigEndian.Uint32(ip[16:20]), t.Dst)
	}
}

// pseudoUpdatePartial is pseudoUpdate for a CHECKSUM_PARTIAL field,
// which holds the pseudo-header sum itself (not its complement): the
// address change is added to it directly.
func pseudoUpdatePartial(b []byte, ipOff int, c []byte, t *conntrack.Tuple, m Manip) {
	ip := b[ipOff:]
	from, to := binary.BigEndian.Uint32(ip[16:20]), t.Dst
	if m == Src {
		from, to = binary.BigEndian.Uint32(ip[12:16]), t.Src
	}
	packet.CsumReplacePartial4(c, from, to)
}

// The kernel's incremental checksum primitives live in package packet
// (shared with TCPMSS); these names keep the NAT code's reading short.
func csumAdd(a, b uint32) uint32             { return packet.CsumAdd(a, b) }
func csumFold(s uint32) uint16               { return packet.CsumFold(s) }
func csumReplace4(c []byte, from, to uint32) { packet.CsumReplace4(c, from, to) }
func csumReplace2(c []byte, from, to uint16) { packet.CsumReplace2(c, from, to) }

// checksum is the Internet checksum of b with a 32-bit initial sum.
func checksum(b []byte, init uint32) uint16 {
	s := uint64(init)
	for len(b) >= 2 {
		s += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}

// Undo maps a locally generated packet seen after NAT (on the wire, in a
// capture) back to what the host's socket sent before POSTROUTING
// rewrote it: the packet whose tuple is the other direction's inverse
// under the connection's binding. It reports false, leaving b alone,
// when b's tuple is one the table tracks as is (no NAT to undo) or no
// connection explains it. Replays use it to send a host's own packets
// through OUTPUT as the host sent them.
func Undo(t *conntrack.Table, b []byte, now int64) bool {
	if len(b) >= 20 && b[9] == protoICMP {
		if hl := int(b[0]&0x0F) * 4; len(b) >= hl+8+20 {
			switch b[hl] {
			case 3, 4, 5, 11, 12:
				return undoICMPError(t, b, hl, now)
			}
		}
	}
	wire, ok := conntrack.PacketTuple(b)
	if !ok {
		return false
	}
	if c, _ := t.Find(wire, 0, now); c != nil {
		return false
	}
	inv, ok := wire.Invert()
	if !ok {
		return false
	}
	c, dir := t.Find(inv, 0, now)
	if c == nil {
		return false
	}
	pre := c.Tuple(1 - dir)
	if pre == wire {
		return false
	}
	return manipPkt(b, 0, &pre, Src, false) && manipPkt(b, 0, &pre, Dst, false)
}

// undoICMPError maps an ICMP error the host generated back to how its
// stack sent it: the quoted header as the host saw it (its connection's
// tuple before NAT), from where that packet was going to where it came
// from, the ICMP checksum recomputed.
func undoICMPError(t *conntrack.Table, b []byte, hl int, now int64) bool {
	inner := b[hl+8:]
	quoted, ok := conntrack.PacketTuple(inner)
	if !ok {
		return false
	}
	c, dir := t.Find(quoted, 0, now)
	if c == nil {
		return false
	}
	pre := invert(c.Tuple(1 - dir))
	if pre == quoted {
		return false
	}
	if !manipPkt(b, hl+8, &pre, Src, false) || !manipPkt(b, hl+8, &pre, Dst, false) {
		return false
	}
	icmp := b[hl:]
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:4], checksum(icmp, 0))
	outer := conntrack.Tuple{Src: pre.Dst, Dst: pre.Src, Proto: protoICMP}
	return manipPkt(b, 0, &outer, Src, false) && manipPkt(b, 0, &outer, Dst, false)
}
