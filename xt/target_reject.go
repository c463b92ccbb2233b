package xt

import (
	"encoding/binary"
	"strings"
	"sync"

	"github.com/nfgo/nfgo/packet"
)

// REJECT: -j REJECT [--reject-with TYPE]  (libipt_REJECT, struct
// ipt_reject_info). The kernel allows it in the filter table only, from
// INPUT, FORWARD and OUTPUT, and tcp-reset only for "-p tcp".

var rejectTarget = Def{
	Name:   "REJECT",
	Kind:   KindTarget,
	Family: FamilyIPv4,
	Options: []Option{
		{Name: "reject-with", Arg: true},
	},
	New:   func() Ext { return &Reject{With: RejectICMPPortUnreachable} },
	Table: "filter",
	Hooks: MaskIn | MaskFwd | MaskOut,
}

// Reject types (enum ipt_reject_with).
const (
	RejectICMPNetUnreachable = iota
	RejectICMPHostUnreachable
	RejectICMPProtUnreachable
	RejectICMPPortUnreachable
	RejectICMPEchoReply
	RejectICMPNetProhibited
	RejectICMPHostProhibited
	RejectTCPReset
	RejectICMPAdminProhibited
)

// rejectNames is reject_table: index = type; "" marks the unused echo-reply.
var rejectNames = [...]struct{ name, alias string }{
	RejectICMPNetUnreachable:  {"icmp-net-unreachable", "net-unreach"},
	RejectICMPHostUnreachable: {"icmp-host-unreachable", "host-unreach"},
	RejectICMPProtUnreachable: {"icmp-proto-unreachable", "proto-unreach"},
	RejectICMPPortUnreachable: {"icmp-port-unreachable", "port-unreach"},
	RejectICMPEchoReply:       {"", ""},
	RejectICMPNetProhibited:   {"icmp-net-prohibited", "net-prohib"},
	RejectICMPHostProhibited:  {"icmp-host-prohibited", "host-prohib"},
	RejectTCPReset:            {"tcp-reset", "tcp-rst"},
	RejectICMPAdminProhibited: {"icmp-admin-prohibited", "admin-prohib"},
}

// Reject is struct ipt_reject_info.
type Reject struct {
	With uint32
}

// strncasePrefix is strncasecmp(name, arg, strlen(arg)) == 0: arg is a
// case-insensitive prefix of name (the empty string matches anything).
func strncasePrefix(name, arg string) bool {
	return len(arg) <= len(name) && StrCaseEqual(name[:len(arg)], arg)
}

func (r *Reject) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	for i, n := range rejectNames {
		if n.name == "" {
			continue
		}
		if strncasePrefix(n.name, arg) || strncasePrefix(n.alias, arg) {
			r.With = uint32(i)
			return nil
		}
	}
	if strncasePrefix("echo-reply", arg) || strncasePrefix("echoreply", arg) {
		c.Warnf("--reject-with echo-reply no longer supported")
	}
	return Errorf("unknown reject type \"%s\"", arg)
}

func (r *Reject) Final(c *Ctx) error { return nil }

// Check is reject_tg_check.
func (r *Reject) Check(c *Ctx) error {
	if r.With == RejectICMPEchoReply {
		return EINVAL("ipt_REJECT: ECHOREPLY no longer supported.")
	}
	if r.With == RejectTCPReset && (c.Proto != 6 || c.ProtoInv) {
		return EINVAL("ipt_REJECT: TCP_RESET invalid for non-tcp")
	}
	return nil
}

func (r *Reject) name() string {
	if int(r.With) < len(rejectNames) {
		return rejectNames[r.With].name
	}
	return ""
}

func (r *Reject) Save(b *strings.Builder, c *Ctx) {
	b.WriteString(" --reject-with " + r.name())
}

func (r *Reject) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" reject-with " + r.name())
}

// Packet logic: ipt_REJECT's reject_tg (Linux 6.18), which calls
// nf_send_unreach (net/ipv4/netfilter/nf_reject_ipv4.c) → icmp_send →
// __icmp_send (net/ipv4/icmp.c) for the ICMP types, and nf_send_reset for
// tcp-reset. The reply is appended to p.Replies (the stack sends it through
// OUTPUT and POSTROUTING as ip_local_out does) and the packet is dropped.

// rejectICMPCodes maps --reject-with to the destination-unreachable code
// (ICMP_NET_UNREACH, ICMP_HOST_UNREACH, ICMP_PROT_UNREACH,
// ICMP_PORT_UNREACH, ICMP_NET_ANO, ICMP_HOST_ANO, ICMP_PKT_FILTERED); -1
// for the types that send no ICMP error.
var rejectICMPCodes = [...]int8{
	RejectICMPNetUnreachable:  0,
	RejectICMPHostUnreachable: 1,
	RejectICMPProtUnreachable: 2,
	RejectICMPPortUnreachable: 3,
	RejectICMPEchoReply:       -1,
	RejectICMPNetProhibited:   9,
	RejectICMPHostProhibited:  10,
	RejectTCPReset:            -1,
	RejectICMPAdminProhibited: 13,
}

// Kernel defaults the replies depend on.
const (
	// rejectTTL is the TTL of both replies: ip4_dst_hoplimit of the route,
	// which without an RTAX_HOPLIMIT metric on the route is
	// net.ipv4.ip_default_ttl (64). nfgo's host model has no route
	// metrics, so the default is used.
	rejectTTL = 64
	// icmpRoom is how much of the offending packet an ICMP error quotes:
	// min(route MTU, 576) less the error's IP (20, no options) and ICMP
	// (8) headers. Routes with an MTU below 576 are not modelled.
	icmpRoom = 576 - 20 - 8
	// ICMP rate limiting sysctls at their defaults: icmp_ratelimit (1 s,
	// HZ jiffies: the limits count in jiffies, see Jiffies),
	// icmp_msgs_per_sec, icmp_msgs_burst. icmp_ratemask (0x1818) includes
	// destination unreachable, so REJECT's errors are limited.
	icmpMsgsPerSec = 1000
	icmpMsgsBurst  = 50
	// inet_peer_xrlim_allow's XRLIM_BURST_FACTOR.
	xrlimBurst = 6
)

// Target is reject_tg.
func (r *Reject) Target(p *Pkt) Verdict {
	switch {
	case r.With == RejectTCPReset:
		rejectSendReset(p)
	case int(r.With) < len(rejectICMPCodes) && rejectICMPCodes[r.With] >= 0:
		rejectSendUnreach(p, uint8(rejectICMPCodes[r.With]))
	}
	return VerdictDrop
}

// rejectChecksumOK is nf_ip_checksum == 0 for a packet whose skb carries
// no checksum state (CHECKSUM_NONE): the sum runs over the whole packet
// from the IP header (whose own valid checksum adds nothing), seeded with
// the pseudo-header for TCP and UDP. This is what the kernel does for
// packets from veth and from NICs without receive checksum offload; with
// CHECKSUM_UNNECESSARY (good checksums only) the result is the same, with
// CHECKSUM_COMPLETE in FORWARD the kernel skips the check — nfgo cannot
// know the NIC and always checks. Locally generated packets (OUTPUT) are
// CHECKSUM_PARTIAL, which the kernel counts as valid, as are received
// packets marked partial (GSO super-packets from an offloading device).
func rejectChecksumOK(p *Pkt) bool {
	if p.Hook == HookLocalOut || p.CsumPartial {
		return true
	}
	var seed uint32
	if p.Proto == packet.ProtoTCP || p.Proto == packet.ProtoUDP {
		seed = pseudoHeaderSum(p.Src, p.Dst, p.Proto, len(p.B)-p.IHL)
	}
	return packet.Checksum16(p.B, seed) == 0
}

func pseudoHeaderSum(src, dst uint32, proto uint8, n int) uint32 {
	return src>>16 + src&0xFFFF + dst>>16 + dst&0xFFFF + uint32(proto) + uint32(n)
}

// rejectVerifyCsum is nf_reject_verify_csum: protocols whose checksum
// covers the whole payload with the Internet checksum. UDP without a
// checksum, GRE, AH, ESP, SCTP and UDP-Lite are not checked.
func rejectVerifyCsum(p *Pkt) bool {
	switch p.Proto {
	case packet.ProtoUDP:
		l4 := p.B[p.IHL:]
		return len(l4) < 8 || l4[6] != 0 || l4[7] != 0
	case 47, 50, 51, 132, 136:
		return false
	}
	return true
}

// rejectRouteType is the RTN_* type of addr as the host sees it (0 when
// the packet has no environment).
func rejectRouteType(p *Pkt, addr uint32) uint8 {
	if p.Env == nil || p.Env.AddrType == nil {
		return 0
	}
	return p.Env.AddrType(addr, "")
}

// rejectBcastMcast is the route's RTCF_BROADCAST|RTCF_MULTICAST for the
// packet's destination: multicast and limited or subnet broadcast
// addresses of the host (only INPUT and OUTPUT see those; a forwarded
// packet's route is unicast).
func rejectBcastMcast(p *Pkt) bool {
	if p.Dst>>28 == 0xE || p.Dst == 0xFFFFFFFF {
		return true
	}
	return p.Hook != HookForward && rejectRouteType(p, p.Dst) == 3
}

// rejectRouteFails says whether the output route towards addr cannot be
// had (ip_route_output failing: unreachable, prohibit or no route).
func rejectRouteFails(p *Pkt, addr uint32) bool {
	t := rejectRouteType(p, addr)
	return t == 7 || t == 8
}

// rejectSendReset is nf_send_reset.
func rejectSendReset(p *Pkt) { sendReset(p, 0) }

// HostReset is tcp_v4_send_reset for a segment addressed to the host
// that no socket takes (a closed port): the RST nf_send_reset builds,
// but with the segment's TOS, ECN bits cleared (ip_send_unicast_reply),
// where REJECT's has TOS 0. The caller sends p.Replies through OUTPUT,
// unattached: the connection tracker sees the RST as a reply (a SYN's
// entry dies with it).
func HostReset(p *Pkt) { sendReset(p, p.TOS&^0x03) }

// HostPortUnreach is __udp4_lib_rcv's icmp_send(ICMP_PORT_UNREACH) for a
// datagram addressed to the host that no socket takes: the ICMP error
// REJECT's icmp-port-unreachable sends, rate limited the same way.
func HostPortUnreach(p *Pkt) { rejectSendUnreach(p, 3) }

// HostProtoUnreach is ip_local_deliver_finish's
// icmp_send(ICMP_PROT_UNREACH) for a datagram addressed to the host whose
// protocol has no handler and no raw socket.
func HostProtoUnreach(p *Pkt) { rejectSendUnreach(p, 2) }

func sendReset(p *Pkt, tos uint8) {
	// nf_reject_ip_tcphdr_get: first fragment only, a whole TCP header,
	// no RST for a RST, a valid checksum.
	if p.FragOffset() != 0 || p.Proto != packet.ProtoTCP || len(p.B)-p.IHL < 20 {
		return
	}
	oth := p.B[p.IHL:]
	if oth[13]&packet.TCPRst != 0 || !rejectChecksumOK(p) {
		return
	}
	if rejectBcastMcast(p) || rejectRouteFails(p, p.Src) {
		return
	}
	b := make([]byte, 40)
	// nf_reject_iphdr_put: TOS 0 (tos), ID 0, DF, the route's hop limit;
	// ip_local_out fills in the length and header checksum.
	b[0] = 0x45
	b[1] = tos
	binary.BigEndian.PutUint16(b[2:], 40)
	b[6] = 0x40
	b[8] = rejectTTL
	b[9] = packet.ProtoTCP
	binary.BigEndian.PutUint32(b[12:], p.Dst)
	binary.BigEndian.PutUint32(b[16:], p.Src)
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:20], 0))
	// nf_reject_ip_tcphdr_put: ports swapped, no options, window 0. If
	// the offending segment acknowledged something, the RST takes that
	// as its sequence number; otherwise it has sequence 0 and
	// acknowledges everything the segment occupied (SYN, FIN, data).
	t := b[20:]
	copy(t[0:2], oth[2:4])
	copy(t[2:4], oth[0:2])
	t[12] = 5 << 4
	flags := uint8(packet.TCPRst)
	if oth[13]&packet.TCPAck != 0 {
		copy(t[4:8], oth[8:12])
	} else {
		seq := binary.BigEndian.Uint32(oth[4:8])
		if oth[13]&packet.TCPSyn != 0 {
			seq++
		}
		if oth[13]&packet.TCPFin != 0 {
			seq++
		}
		seq += uint32(len(p.B)-p.IHL) - uint32(oth[12]>>4)*4
		binary.BigEndian.PutUint32(t[8:12], seq)
		flags |= packet.TCPAck
	}
	t[13] = flags
	// The kernel leaves the checksum to the device (CHECKSUM_PARTIAL);
	// on the wire it is the full checksum.
	binary.BigEndian.PutUint16(t[16:], packet.Checksum16(t, pseudoHeaderSum(p.Dst, p.Src, packet.ProtoTCP, 20)))
	p.Replies = append(p.Replies, b)
}

// icmpIsError is icmp_pointers[type].error, unknown types (> 18) counting
// as errors.
func icmpIsError(t uint8) bool {
	switch t {
	case 0, 8, 13, 14, 15, 16, 17, 18:
		return false
	}
	return true
}

// rejectSendUnreach is nf_send_unreach followed by __icmp_send for
// ICMP_DEST_UNREACH.
func rejectSendUnreach(p *Pkt, code uint8) {
	if p.FragOffset() != 0 {
		return
	}
	if rejectVerifyCsum(p) && !rejectChecksumOK(p) {
		return
	}
	// __icmp_send: no errors for link-layer broadcast or multicast
	// (pkt_type != PACKET_HOST), for broadcast or multicast routes, for
	// non-first fragments, or about ICMP errors (or truncated ICMP).
	if p.Hook != HookLocalOut && p.InEther && len(p.MAC) >= 6 && p.MAC[0]&1 != 0 {
		return
	}
	if rejectBcastMcast(p) {
		return
	}
	if p.Proto == packet.ProtoICMP {
		if len(p.B) <= p.IHL || icmpIsError(p.B[p.IHL]) {
			return
		}
	}
	lim := icmpLimiterFor(p.Env)
	now := int64(Jiffies(p.Time))
	// The global limit (icmp_msgs_per_sec/burst) is skipped for packets
	// that came in on the loopback device; when it passes, the
	// per-destination limit applies as well.
	applyRL := false
	if lim != nil && p.InIface != "lo" {
		lim.mu.Lock()
		ok := lim.globalAllow(now)
		lim.mu.Unlock()
		if !ok {
			return
		}
		applyRL = true
	}
	// Source address: for a packet addressed to the host (RTCF_LOCAL)
	// the error comes from the address it was sent to; otherwise the
	// route towards the sender chooses it (icmp_errors_use_inbound_ifaddr
	// is 0 by default). Without an environment nfgo knows no routes and
	// sends errors only about packets addressed to the host.
	var saddr uint32
	local := false
	switch p.Hook {
	case HookLocalIn:
		local = p.Env == nil || rejectRouteType(p, p.Dst) == 2
	case HookLocalOut:
		local = rejectRouteType(p, p.Dst) == 2
	}
	if rejectRouteFails(p, p.Src) {
		return
	}
	dstLocal := rejectRouteType(p, p.Src) == 2
	switch {
	case local:
		saddr = p.Dst
	case dstLocal:
		saddr = p.Src // the local route's preferred source is the address itself
	case p.Env != nil && p.Env.RouteSrc != nil:
		s, ok := p.Env.RouteSrc(p.Src)
		if !ok {
			return
		}
		saddr = s
	default:
		return
	}
	if saddr == 0 {
		saddr = 0xC0000008 // INADDR_DUMMY, 192.0.0.8
	}
	// Per-destination limit (inet_peer_xrlim_allow), except towards the
	// host itself (the error leaves through lo); a message that passes
	// consumes global credit.
	if applyRL {
		lim.mu.Lock()
		ok := dstLocal || lim.peerAllow(p.Src, now)
		if ok {
			lim.consume(p.Env)
		}
		lim.mu.Unlock()
		if !ok {
			return
		}
	}
	n := len(p.B)
	if n > icmpRoom {
		n = icmpRoom
	}
	b := make([]byte, 28+n)
	// The ICMP socket's header (__ip_make_skb): TOS from the offending
	// packet's TOS bits with precedence "internetwork control", no DF
	// (the socket's pmtudisc is IP_PMTUDISC_DONT), the route's hop limit.
	// The kernel's IP ID for a non-DF packet is ip_select_ident's hashed
	// per-destination counter (a secret key and random increments): it
	// cannot be reproduced, nfgo leaves it 0 (the header checksum follows
	// from it).
	b[0] = 0x45
	b[1] = p.TOS&0x1E | 0xC0
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = rejectTTL
	b[9] = packet.ProtoICMP
	binary.BigEndian.PutUint32(b[12:], saddr)
	binary.BigEndian.PutUint32(b[16:], p.Src)
	// Reply IP options (__ip_options_echo of record-route, timestamp and
	// source-route options) are not modelled: the error carries none.
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:20], 0))
	b[20] = 3
	b[21] = code
	copy(b[28:], p.B[:n])
	binary.BigEndian.PutUint16(b[22:], packet.Checksum16(b[20:], 0))
	p.Replies = append(p.Replies, b)
}

// ICMPLimiter is a host's ICMP rate limiting state (the kernel's
// per-namespace icmp_global credit and the inet_peer tokens of each
// destination), driven by packet time in jiffies so that replay is
// deterministic. The kernel's random credit consumption
// (get_random_u32_below(3)) draws from Env.Rand.
type ICMPLimiter struct {
	mu         sync.Mutex
	credit     int32
	stamp      int64
	stampValid bool
	peers      [icmpPeers]icmpPeer
}

// icmpPeers bounds the destinations remembered. A peer idle for 6 s has
// a full bucket again, so forgetting it then changes nothing; the least
// recently used one is replaced when all are in use.
const icmpPeers = 256

type icmpPeer struct {
	addr   uint32
	used   bool
	tokens int64
	last   int64
}

// globalAllow is icmp_global_allow: credit left, or a refill of
// msgs_per_sec for the time elapsed (at most a second, at least 20 ms),
// capped at the burst.
func (l *ICMPLimiter) globalAllow(now int64) bool {
	if l.credit > 0 {
		return true
	}
	hz := int64(HZ)
	delta := hz // the first refill: the stamp is long ago
	if l.stampValid {
		delta = now - l.stamp
		if delta > hz {
			delta = hz
		}
	}
	if delta < hz/50 {
		return false
	}
	incr := int32(icmpMsgsPerSec * delta / hz)
	if incr == 0 {
		return false
	}
	l.stamp, l.stampValid = now, true
	l.credit += incr
	if l.credit > icmpMsgsBurst {
		l.credit = icmpMsgsBurst
	}
	return true
}

// consume is icmp_global_consume: 0, 1 or 2 credits at random.
func (l *ICMPLimiter) consume(env *Env) {
	c := int32(1)
	if env != nil && env.Rand != nil {
		for { // get_random_u32_below(3) for a constant bound: 8-bit multiply-shift
			m := 3 * (env.Rand() & 0xFF)
			if uint8(m) >= 1 {
				c = int32(m >> 8)
				break
			}
		}
	}
	l.credit -= c
}

// peerAllow is inet_peer_xrlim_allow with timeout icmp_ratelimit: tokens
// accrue one a jiffy up to 6 timeouts, a message costs one timeout. A new
// peer starts 60 s in the past, so with a full bucket.
func (l *ICMPLimiter) peerAllow(addr uint32, now int64) bool {
	var pe *icmpPeer
	oldest := 0
	for i := range l.peers {
		q := &l.peers[i]
		if q.used && q.addr == addr {
			pe = q
			break
		}
		if !q.used || (l.peers[oldest].used && q.last < l.peers[oldest].last) {
			oldest = i
		}
	}
	if pe == nil {
		pe = &l.peers[oldest]
		*pe = icmpPeer{addr: addr, used: true, last: now - 60*int64(HZ)}
	}
	timeout := int64(HZ) // icmp_ratelimit
	if delta := now - pe.last; delta != 0 {
		pe.last = now
		pe.tokens += delta
		if pe.tokens > xrlimBurst*timeout {
			pe.tokens = xrlimBurst * timeout
		}
	}
	if pe.tokens >= timeout {
		pe.tokens -= timeout
		return true
	}
	return false
}

// icmpLimiterFor is the host's limiter (Env.ICMP, set up by the packet
// path with the host); none means no rate limiting.
func icmpLimiterFor(env *Env) *ICMPLimiter {
	if env == nil {
		return nil
	}
	return env.ICMP
}
