package netfilter

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/xt"
)

// Stack is a host's IPv4 path through the hooks: PREROUTING, the routing
// decision, INPUT or FORWARD, and for forwarded and local packets OUTPUT and
// POSTROUTING, with the engine's tables at each hook.
type Stack struct {
	Engine *Engine
	Host   *host.Host
	// Env is given to packets that have none; NewEnv builds one from Host.
	Env *xt.Env
	// CT is the connection tracking table (it outlives ruleset swaps);
	// nil tracks nothing.
	CT *conntrack.Table

	// Fragment reassembly settings, read when the first fragment arrives:
	// FragTimeout is net.ipv4.ipfrag_time in ns (0: 30 s), FragHighThresh
	// net.ipv4.ipfrag_high_thresh in bytes (0: 4 MiB, negative: no
	// reassembly), FragMaxDist net.ipv4.ipfrag_max_dist (0: 64, negative:
	// no check).
	FragTimeout    int64
	FragHighThresh int
	FragMaxDist    int

	// RouterICMP makes the stack send the ICMP errors a router sends for
	// packets it cannot forward (time exceeded, network unreachable), as
	// the live gateway must; a replay leaves them to the capture.
	RouterICMP bool

	// tracker wraps CT for the packets; made at the first packet (CT may
	// be set after the Stack), atomically, as workers share the Stack.
	tracker atomic.Pointer[ctTracker]
	frag    defragState
}

// ctTracker connects the conntrack table to the hooks.
type ctTracker struct{ t *conntrack.Table }

func (c *ctTracker) Track(p *xt.Pkt) bool {
	var ci conntrack.CtInfo
	var conn *conntrack.Conn
	if p.Hook == xt.HookLocalOut {
		ci, conn = c.t.InLocalHelper(&p.Parsed, p.Time, p.CTZone, p.CTHelper)
	} else {
		ci, conn = c.t.InHelper(&p.Parsed, p.Time, p.CTZone, p.CTHelper)
	}
	if ci == conntrack.Drop {
		return false
	}
	p.CtInfo, p.Conn = ci, conn
	return true
}

// ConntrackTable gives matches the table (xt.ConntrackTabler: connlimit
// looks up the connections it remembers).
func (c *ctTracker) ConntrackTable() *conntrack.Table { return c.t }

func (c *ctTracker) Confirm(p *xt.Pkt) bool {
	// nf_confirm: the entry's helper reads the packet first.
	conn, ok := c.t.ConfirmPacket(&p.Parsed, p.Conn, p.CtInfo, p.Time)
	p.Conn = conn
	return ok
}

func (s *Stack) prepare(p *xt.Pkt) {
	if p.Env == nil {
		p.Env = s.Env
	}
	if s.CT != nil && p.Tracker == nil {
		tr := s.tracker.Load()
		if tr == nil || tr.t != s.CT {
			tr = &ctTracker{s.CT}
			s.tracker.Store(tr)
		}
		p.Tracker = tr
	}
}

// NewEnv is the packet environment of a host: address types and source
// address selection from its addresses and routes. rnd supplies
// randomness (statistic); nil gives a fixed sequence.
func NewEnv(h *host.Host, rnd func() uint32) *xt.Env {
	if rnd == nil {
		var x uint32 = 2463534242
		rnd = func() uint32 { // xorshift: deterministic
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			return x
		}
	}
	return &xt.Env{
		Rand: rnd,
		ICMP: &xt.ICMPLimiter{},
		AddrType: func(a uint32, dev string) uint8 {
			ad := addr4(a)
			switch {
			case h.IsLocal(ad):
				if dev != "" && !h.IsLocalOn(ad, dev) {
					return 1 // RTN_UNICAST from that device's point of view
				}
				return 2 // RTN_LOCAL
			case h.IsBroadcast(ad):
				return 3 // RTN_BROADCAST
			}
			if r, ok := h.Lookup(ad); ok {
				switch r.Type {
				case "blackhole":
					return 6
				case "unreachable":
					return 7
				case "prohibit":
					return 8
				}
				return 1
			}
			return 7 // no route: RTN_UNREACHABLE
		},
		MasqSource: func(out string, dst uint32) (uint32, bool) {
			a, ok := h.SelectAddr(out, h.NextHop(addr4(dst)))
			if !ok {
				return 0, false
			}
			return be32(a), true
		},
		IfaceAddr: func(dev string) (uint32, bool) {
			if i := h.Iface(dev); i != nil {
				if a, ok := i.Primary(); ok {
					return be32(a), true
				}
			}
			return 0, false
		},
		DevMTU: func(dev string) uint32 {
			if i := h.Iface(dev); i != nil && i.MTU > 0 {
				return uint32(i.MTU)
			}
			return 0xFFFF
		},
		RouteMTU: func(dst uint32) uint32 {
			r, ok := h.Lookup(addr4(dst))
			if !ok || r.Type != "unicast" {
				return ^uint32(0)
			}
			if i := h.Iface(r.Dev); i != nil && i.MTU > 0 {
				return uint32(i.MTU)
			}
			return 0xFFFF
		},
		RouteSrc: func(dst uint32) (uint32, bool) {
			src, ok := h.SourceFor(addr4(dst))
			if !ok {
				return 0, false
			}
			b := src.As4()
			return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
		},
	}
}

// HookStep records one hook a packet went through.
type HookStep struct {
	Hook   xt.Hook
	Result Result
}

// Outcome is what the host did with a packet.
type Outcome struct {
	// Emitted are the packets the host generated in reaction (REJECT
	// replies), each with what OUTPUT and POSTROUTING did with it.
	Emitted  []Emitted
	Steps    [xt.NumHooks + 1]HookStep
	NSteps   int
	Verdict  xt.Verdict // the verdict that ended the path (ACCEPT if delivered or sent)
	Local    bool       // delivered to a local socket (passed INPUT)
	Sent     bool       // left through OutIface (passed POSTROUTING)
	OutIface string
	Drop     string // why it was dropped outside the rules ("no route", "forwarding disabled", "ttl exceeded", "malformed", "fragmentation needed", or a reassembly failure)
	// Held: the packet was a fragment that the host queued for
	// reassembly (nf_defrag_ipv4 stole it, or ip_local_deliver queued
	// it); the datagram is not complete yet. Verdict is then DROP and
	// Drop "held for reassembly".
	Held bool
	// Reassembled: the packet completed a datagram; the Pkt now holds the
	// whole datagram (header of the offset-0 fragment, total length and
	// checksum rewritten, flags DF or none), which is what went on
	// through the hooks.
	Reassembled bool
	// Fragments are the packets that left through OutIface when the host
	// fragmented the packet on output (ip_fragment: a reassembled
	// datagram is cut again at its original fragments' boundaries, or to
	// the device's MTU); nil when it left whole.
	Fragments [][]byte
}

// Emitted is one generated packet.
type Emitted struct {
	Packet  []byte
	Outcome *Outcome
}

func (o *Outcome) add(h xt.Hook, r Result) {
	o.Steps[o.NSteps] = HookStep{Hook: h, Result: r}
	o.NSteps++
}

// Receive runs a packet that arrived on interface in (with link-layer
// header mac) through the host: PREROUTING, routing, then INPUT, or FORWARD
// and POSTROUTING.
func (s *Stack) Receive(p *xt.Pkt, in string, mac []byte) Outcome {
	var o Outcome
	s.prepare(p)
	o.Emitted = s.expire(p.Time, p.Events, o.Emitted)
	snap := s.Engine.Snapshot()
	p.InIface, p.OutIface, p.MAC = in, "", mac
	if ifc := s.Host.Iface(in); ifc != nil {
		// lo has a 14-byte header but is not Ethernet (ARPHRD_LOOPBACK):
		// the mac match never matches there and LOG prints raw MAC=.
		p.InEther = ifc.LinkType == "ether"
		p.InHardHeaderLen = 14
		if ifc.LinkType == "none" {
			p.InHardHeaderLen = 0
		}
	}
	var fi fragInfo
	// nf_defrag_ipv4 (priority -400, before raw) when the ruleset
	// tracks connections: the fragments are stolen, and the datagram
	// they complete goes through PREROUTING from the raw table on.
	if snap.needCT && s.CT != nil && p.IsFragment() && !p.Untracked {
		if !s.defrag(p, userCTIn, in, &o, &fi) {
			return o
		}
	}
	r := snap.Hook(xt.HookPreRouting, p)
	o.add(xt.HookPreRouting, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	if r.Verdict != xt.VerdictAccept {
		o.Verdict = r.Verdict
		return o
	}
	dst := addr4(p.Dst)
	if s.Host.IsLocal(dst) || s.Host.IsBroadcast(dst) || dst.IsMulticast() {
		// ip_local_deliver reassembles before INPUT.
		if p.IsFragment() && !s.defrag(p, userLocalDeliver, in, &o, &fi) {
			return o
		}
		r = snap.Hook(xt.HookLocalIn, p)
		o.add(xt.HookLocalIn, r)
		if len(p.Replies) > 0 {
			s.sendReplies(p, &o)
		}
		o.Verdict = r.Verdict
		o.Local = r.Verdict == xt.VerdictAccept
		return o
	}
	if !s.Host.Forwarding {
		o.Verdict, o.Drop = xt.VerdictDrop, "forwarding disabled"
		return o
	}
	rt, ok := s.Host.Lookup(dst)
	if !ok || rt.Type != "unicast" {
		o.Verdict, o.Drop = xt.VerdictDrop, "no route"
		if s.RouterICMP {
			s.routerError(p, 3, 0, &o) // network unreachable
		}
		return o
	}
	if p.TTL <= 1 {
		o.Verdict, o.Drop = xt.VerdictDrop, "ttl exceeded"
		if s.RouterICMP {
			s.routerError(p, 11, 0, &o) // time exceeded in transit
		}
		return o
	}
	mtu := s.mtu(rt.Dev)
	if exceedsMTU(p, mtu, &fi) {
		// ip_forward: DF set and too big (for a reassembled datagram:
		// its largest original fragment too big).
		s.fragNeeded(p, mtu, false, &o)
		return o
	}
	decTTL(p)
	p.OutIface = rt.Dev
	r = snap.Hook(xt.HookForward, p)
	o.add(xt.HookForward, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	if r.Verdict != xt.VerdictAccept {
		o.Verdict = r.Verdict
		return o
	}
	// POSTROUTING sees no MAC header and, like every hook after routing,
	// both devices.
	r = snap.Hook(xt.HookPostRouting, p)
	o.add(xt.HookPostRouting, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	o.Verdict = r.Verdict
	if r.Verdict == xt.VerdictAccept {
		if p.GSOSize > 0 {
			// A GSO packet leaves whole when its segments fit
			// (ip_finish_output_gso); otherwise segmented, and each
			// segment fragmented (DF was refused before FORWARD).
			if p.SegmentLen() > mtu {
				o.Fragments = segmentOut(p, mtu)
			}
			o.Sent, o.OutIface = true, rt.Dev
			return o
		}
		if p.CsumPartial && len(p.B) > mtu {
			// ip_do_fragment completes a partial checksum first:
			// the fragments carry the finished sum.
			p.FinishPartial()
		}
		frags, need := fragmentOut(p.B, mtu, &fi)
		if need {
			s.fragNeeded(p, mtu, false, &o)
			return o
		}
		o.Sent, o.OutIface, o.Fragments = true, rt.Dev, frags
	}
	return o
}

// segmentOut is the software segmentation of a GSO packet whose segments
// exceed the MTU, each segment then fragmented as ip_fragment cuts it.
func segmentOut(p *xt.Pkt, mtu int) [][]byte {
	var out [][]byte
	for _, seg := range packet.Segment(&p.Parsed) {
		var fi fragInfo
		frags, _ := fragmentOut(seg, mtu, &fi)
		if frags == nil {
			frags = [][]byte{seg}
		}
		out = append(out, frags...)
	}
	return out
}

// Send runs a locally generated packet through OUTPUT and POSTROUTING.
func (s *Stack) Send(p *xt.Pkt) Outcome {
	var o Outcome
	s.prepare(p)
	o.Emitted = s.expire(p.Time, p.Events, o.Emitted)
	snap := s.Engine.Snapshot()
	p.InIface, p.MAC = "", nil
	dst := addr4(p.Dst)
	out := "lo"
	if !s.Host.IsLocal(dst) {
		rt, ok := s.Host.Lookup(dst)
		if !ok || rt.Type != "unicast" {
			o.Verdict, o.Drop = xt.VerdictDrop, "no route"
			return o
		}
		out = rt.Dev
	}
	p.OutIface = out
	var fi fragInfo
	// nf_defrag_ipv4 at OUTPUT (-400): locally generated fragments (a
	// raw socket's) are reassembled before the raw table.
	if snap.needCT && s.CT != nil && p.IsFragment() && !p.Untracked {
		if !s.defrag(p, userCTOut, "", &o, &fi) {
			return o
		}
	}
	r := snap.Hook(xt.HookLocalOut, p)
	o.add(xt.HookLocalOut, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	if r.Verdict != xt.VerdictAccept {
		o.Verdict = r.Verdict
		return o
	}
	if p.Dst != be32(dst) {
		// OUTPUT changed the destination (DNAT, REDIRECT):
		// ip_route_me_harder routes the packet again.
		dst = addr4(p.Dst)
		out = "lo"
		if !s.Host.IsLocal(dst) {
			rt, ok := s.Host.Lookup(dst)
			if !ok || rt.Type != "unicast" {
				o.Verdict, o.Drop = xt.VerdictDrop, "no route"
				return o
			}
			out = rt.Dev
		}
		p.OutIface = out
	}
	r = snap.Hook(xt.HookPostRouting, p)
	o.add(xt.HookPostRouting, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	o.Verdict = r.Verdict
	if r.Verdict == xt.VerdictAccept {
		frags, need := fragmentOut(p.B, s.mtu(out), &fi)
		if need {
			// ip_fragment on a local packet with DF: the socket gets
			// EMSGSIZE (the ICMP the kernel sends to itself is not
			// modelled).
			o.Verdict, o.Drop = xt.VerdictDrop, "fragmentation needed"
			return o
		}
		o.Sent, o.OutIface, o.Fragments = true, out, frags
	}
	return o
}

// sendReplies runs the packets a target generated (REJECT) through
// OUTPUT and POSTROUTING, recording them in o.
func (s *Stack) sendReplies(p *xt.Pkt, o *Outcome) {
	for _, b := range p.Replies {
		q := &xt.Pkt{Events: p.Events, Explain: p.Explain, Env: p.Env, Time: p.Time, Tracker: p.Tracker}
		if q.Decode(b) != nil {
			continue
		}
		if p.CTDone && p.Conn != nil {
			// nf_conntrack_attach: the reply carries the original's entry.
			q.Conn, q.CtInfo, q.CTDone = p.Conn, conntrack.Attach(p.CtInfo), true
		}
		so := s.Send(q)
		o.Emitted = append(o.Emitted, Emitted{Packet: q.B, Outcome: &so})
	}
	p.Replies = p.Replies[:0]
}

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// decTTL is ip_decrease_ttl: TTL minus one and the checksum adjusted
// incrementally (RFC 1624), in place.
func decTTL(p *xt.Pkt) {
	b := p.B
	b[8]--
	p.TTL--
	sum := uint32(binary.BigEndian.Uint16(b[10:12])) + 0x0100
	if sum >= 0xFFFF {
		sum++ // the kernel's end-around carry, giving 0x0000 rather than 0xFFFF
	}
	binary.BigEndian.PutUint16(b[10:12], uint16(sum))
}

// routerError sends the ICMP error ip_forward / ip_route_input send for
// a packet that cannot be forwarded, from the address the host would use
// towards its source, through OUTPUT and POSTROUTING.
func (s *Stack) routerError(p *xt.Pkt, typ, code uint8, o *Outcome) {
	if !icmpErrorAllowed(p.B) || p.Env == nil || p.Env.RouteSrc == nil {
		return
	}
	src, ok := p.Env.RouteSrc(p.Src)
	if !ok {
		return
	}
	b := icmpError(p.B, typ, code, 0, src)
	r := &xt.Pkt{Events: p.Events, Explain: p.Explain, Env: p.Env, Time: p.Time}
	if r.Decode(b) != nil {
		return
	}
	if p.CTDone && p.Conn != nil {
		r.Conn, r.CtInfo, r.CTDone = p.Conn, conntrack.Attach(p.CtInfo), true
	}
	so := s.Send(r)
	o.Emitted = append(o.Emitted, Emitted{Packet: r.B, Outcome: &so})
}
