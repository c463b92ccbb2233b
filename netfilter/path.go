package netfilter

import (
	"encoding/binary"
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
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

	tracker *ctTracker
}

// ctTracker connects the conntrack table to the hooks.
type ctTracker struct{ t *conntrack.Table }

func (c *ctTracker) Track(p *xt.Pkt) bool {
	var ci conntrack.CtInfo
	var conn *conntrack.Conn
	if p.Hook == xt.HookLocalOut {
		ci, conn = c.t.InLocal(&p.Parsed, p.Time, 0)
	} else {
		ci, conn = c.t.In(&p.Parsed, p.Time, 0)
	}
	if ci == conntrack.Drop {
		return false
	}
	p.CtInfo, p.Conn = ci, conn
	return true
}

func (c *ctTracker) Confirm(p *xt.Pkt) bool {
	conn, ok := c.t.Confirm(p.Conn, p.CtInfo, p.Time)
	p.Conn = conn
	return ok
}

func (s *Stack) prepare(p *xt.Pkt) {
	if p.Env == nil {
		p.Env = s.Env
	}
	if s.CT != nil && p.Tracker == nil {
		if s.tracker == nil || s.tracker.t != s.CT {
			s.tracker = &ctTracker{s.CT}
		}
		p.Tracker = s.tracker
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
	Drop     string // why it was dropped outside the rules ("no route", "forwarding disabled", "ttl exceeded", "malformed")
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
		return o
	}
	if p.TTL <= 1 {
		o.Verdict, o.Drop = xt.VerdictDrop, "ttl exceeded"
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
		o.Sent, o.OutIface = true, rt.Dev
	}
	return o
}

// Send runs a locally generated packet through OUTPUT and POSTROUTING.
func (s *Stack) Send(p *xt.Pkt) Outcome {
	var o Outcome
	s.prepare(p)
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
	r := snap.Hook(xt.HookLocalOut, p)
	o.add(xt.HookLocalOut, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	if r.Verdict != xt.VerdictAccept {
		o.Verdict = r.Verdict
		return o
	}
	r = snap.Hook(xt.HookPostRouting, p)
	o.add(xt.HookPostRouting, r)
	if len(p.Replies) > 0 {
		s.sendReplies(p, &o)
	}
	o.Verdict = r.Verdict
	if r.Verdict == xt.VerdictAccept {
		o.Sent, o.OutIface = true, out
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
