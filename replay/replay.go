// Package replay runs a host's captured traffic through nfgo's engine as
// that host's kernel would have run it, on the capture's clock: packets
// the host received enter at PREROUTING on their interface; packets it
// sent are paired with what nfgo itself emitted (a forwarded packet, byte
// for byte, or a reply such as REJECT's), and the rest — made by the
// host's own stack — go through OUTPUT and POSTROUTING as the stack sent
// them (their NAT undone first) and must come out as the bytes captured.
// Every disagreement is reported: nfgo forwarded what the host did not
// send, or the host sent what nfgo did not produce.
package replay

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/netfilter"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// Options configure a replay.
type Options struct {
	Rules *rules.Ruleset
	Host  *host.Host
	// Conntrack is the table's configuration (nil: conntrack.HostConfig
	// with checksums not verified: captures of locally generated and
	// veth traffic carry unfinished checksums the kernel trusts).
	Conntrack *conntrack.Config
	// Rand is the environment's randomness (NAT port search, statistic);
	// nil: a fixed sequence.
	Rand func() uint32
	// Events receives LOG and TRACE lines (p.Time is the packet's
	// capture time).
	Events xt.Events
	// FragTimeout is net.ipv4.ipfrag_time in ns (0: 30 s).
	FragTimeout int64
	// Track turns connection tracking on whatever the rules need (the
	// host had conntrack loaded for another reason); nfgo rst needs
	// connections.
	Track bool
	// OnPacket, if set, hears what happened to each packet.
	OnPacket func(*Result)
	// Origin, if set, may say what the host's socket sent for one of the
	// host's own packets seen on the wire (nil: not known). A capture
	// shows the host's packets after NAT; a connection's later packets
	// are mapped back through its entry (nat.Undo), but the first
	// packet of a connection NATed at OUTPUT cannot be, as its entry
	// does not exist yet. Tests that crafted the packets say.
	Origin func(wire []byte) []byte
}

// Result is what the replay did with one captured packet.
type Result struct {
	Index int // position in the merged capture
	Pkt   *capture.Packet
	// Kind: "received" (entered at PREROUTING), "forwarded" (an
	// outgoing frame nfgo forwarded byte for byte), "reply" (an
	// outgoing frame nfgo generated, such as a REJECT reply), "local"
	// (the host's own packet, sent through OUTPUT), "loopback" (a packet
	// the host sent to itself: OUTPUT and POSTROUTING, then PREROUTING
	// and INPUT on lo), "unexplained" (an outgoing frame nfgo did not
	// produce), "skipped" (not decodable).
	Kind    string
	Outcome *netfilter.Outcome // received and local packets
	// Before and After are the packet's addresses and ports entering
	// and leaving nfgo (they differ when NAT rewrote it).
	Before, After string
	Why           string // for unexplained and skipped packets
	// The packet's connection after nfgo ran it (nil: none, INVALID,
	// untracked) and its ctinfo.
	Conn   *conntrack.Conn
	CtInfo conntrack.CtInfo
	// For a reply: the packet it answers and the rule that made it.
	ReplyTo int
	MadeBy  string
}

// Disagreement is a difference between the host's behaviour, as the
// capture shows it, and nfgo's.
type Disagreement struct {
	Index int    // the captured packet concerned (-1: none)
	What  string // a sentence
}

// Replayer feeds captured packets through a stack.
type Replayer struct {
	o     Options
	Stack *netfilter.Stack
	macs  map[string]bool // the host's own MACs
	// loopback devices: libpcap keeps one copy of their packets, as
	// received.
	loopback map[string]bool
	ifaces   map[string]bool // interfaces the capture covers

	forwarded map[string][]fwd // packets nfgo sent out, by bytes
	pending   []pendingReply   // replies nfgo generated, not yet seen
	n         int

	// Counters.
	Received, Forwarded, Replies, Local, Unexplained, Skipped int
	Disagreements                                             []Disagreement
}

// pendingReply is a packet nfgo generated (a REJECT reply), waiting to
// be seen leaving the host.
type pendingReply struct {
	b      []byte
	index  int    // the packet it answers
	madeBy string // the rule that made it
	// The answered packet's connection, which the reply carries
	// (nf_conntrack_attach), and the reply's ctinfo.
	conn *conntrack.Conn
	ci   conntrack.CtInfo
}

type fwd struct {
	index int
	iface string
}

// New builds a replayer over a fresh host: an empty connection table,
// no recent or hashlimit state.
func New(o Options) (*Replayer, error) {
	xt.ResetStatefulTables()
	newEngine := netfilter.New
	if o.Track {
		newEngine = netfilter.NewTracked
	}
	eng, err := newEngine(o.Rules)
	if err != nil {
		return nil, err
	}
	st := &netfilter.Stack{Engine: eng, Host: o.Host, Env: netfilter.NewEnv(o.Host, o.Rand), FragTimeout: o.FragTimeout}
	cfg := conntrack.HostConfig()
	cfg.Checksum = false
	if o.Conntrack != nil {
		cfg = *o.Conntrack
	}
	st.CT = conntrack.NewTable(cfg)
	r := &Replayer{o: o, Stack: st, macs: map[string]bool{}, loopback: map[string]bool{}, ifaces: map[string]bool{}, forwarded: map[string][]fwd{}}
	for _, i := range o.Host.Interfaces {
		if i.LinkType == "loopback" {
			r.loopback[i.Name] = true
		}
		if len(i.MAC) == 6 && i.LinkType == "ether" {
			r.macs[i.MAC.String()] = true
		}
	}
	return r, nil
}

// outgoing says whether the host sent the packet: as the capture
// records, else by the Ethernet source being one of the host's MACs.
func (r *Replayer) outgoing(p *capture.Packet) bool {
	switch p.Dir {
	case capture.DirOut:
		return true
	case capture.DirIn:
		return false
	}
	if len(p.MAC) >= 12 {
		return r.macs[macString(p.MAC[6:12])]
	}
	return false
}

func macString(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// Feed replays one captured packet.
func (r *Replayer) Feed(cp *capture.Packet) *Result {
	res := &Result{Index: r.n, Pkt: cp}
	r.n++
	if cp.Iface != "" {
		r.ifaces[cp.Iface] = true
	}
	// Fragment queues that time out before this packet: the ICMP errors
	// the host sends for them are its own.
	for _, e := range r.Stack.Expire(cp.Time, r.o.Events) {
		if e.Outcome.Sent {
			r.pending = append(r.pending, pendingReply{b: e.Packet, index: -1, madeBy: "reassembly timeout"})
		}
	}
	p := &xt.Pkt{Events: r.o.Events, Time: cp.Time}
	if err := p.Decode(append([]byte(nil), cp.IP...)); err != nil {
		res.Kind, res.Why = "skipped", err.Error()
		r.Skipped++
		r.report(res)
		return res
	}
	res.Before = Endpoints(p)
	if r.loopback[cp.Iface] {
		return r.feedLoopback(res, p)
	}
	if !r.outgoing(cp) {
		out := r.Stack.Receive(p, cp.Iface, cp.MAC)
		res.Kind, res.Outcome, res.After = "received", &out, Endpoints(p)
		res.Conn, res.CtInfo = p.Conn, p.CtInfo
		r.Received++
		switch {
		case out.Sent && out.Fragments != nil:
			for _, fr := range out.Fragments {
				r.forwarded[string(fr)] = append(r.forwarded[string(fr)], fwd{res.Index, out.OutIface})
			}
		case out.Sent:
			r.forwarded[string(p.B)] = append(r.forwarded[string(p.B)], fwd{res.Index, out.OutIface})
		}
		r.addReplies(res, &out)
		r.report(res)
		return res
	}
	if q := r.forwarded[string(p.B)]; len(q) > 0 {
		if len(q) == 1 {
			delete(r.forwarded, string(p.B))
		} else {
			r.forwarded[string(p.B)] = q[1:]
		}
		res.Kind = "forwarded"
		res.Conn, res.CtInfo = nil, 0
		r.Forwarded++
		r.report(res)
		return res
	}
	if i := matchReply(r.pending, p.B); i >= 0 {
		pr := r.pending[i]
		res.ReplyTo, res.MadeBy, res.Conn, res.CtInfo = pr.index, pr.madeBy, pr.conn, pr.ci
		r.pending = append(r.pending[:i], r.pending[i+1:]...)
		res.Kind = "reply"
		r.Replies++
		r.report(res)
		return res
	}
	// The host's own packet: sent through OUTPUT as its stack sent it.
	wire := append([]byte(nil), p.B...)
	r.origin(p)
	res.Before = Endpoints(p)
	if p.Src != 0 && !r.o.Host.IsLocal(addr4(p.Src)) {
		// Not from one of the host's addresses: a packet the host
		// forwarded that nfgo did not.
		res.Kind, res.Why = "unexplained", "the host forwarded a packet nfgo does not forward"
		r.Unexplained++
		r.Disagreements = append(r.Disagreements, Disagreement{res.Index, fmt.Sprintf("packet %d (%s on %s): %s", res.Index, res.Before, cp.Iface, res.Why)})
		r.report(res)
		return res
	}
	out := r.Stack.Send(p)
	res.Outcome, res.After = &out, Endpoints(p)
	res.Conn, res.CtInfo = p.Conn, p.CtInfo
	if out.Sent && bytes.Equal(p.B, wire) {
		res.Kind = "local"
		r.Local++
	} else {
		res.Kind = "unexplained"
		r.Unexplained++
		if !out.Sent {
			res.Why = "the host sent a packet nfgo drops or does not forward"
		} else {
			res.Why = "nfgo sends this packet with other bytes"
		}
		r.Disagreements = append(r.Disagreements, Disagreement{res.Index, fmt.Sprintf("packet %d (%s on %s): %s", res.Index, res.Before, cp.Iface, res.Why)})
	}
	r.report(res)
	return res
}

// feedLoopback replays a packet the host sent to itself. The capture
// holds it once, between POSTROUTING and PREROUTING: its NAT is undone,
// it goes through OUTPUT and POSTROUTING (and must come out as captured),
// then through PREROUTING and INPUT on lo with the connection it already
// carries.
func (r *Replayer) feedLoopback(res *Result, p *xt.Pkt) *Result {
	cp := res.Pkt
	wire := append([]byte(nil), p.B...)
	r.origin(p)
	res.Before = Endpoints(p)
	out := r.Stack.Send(p)
	if !out.Sent || !r.loopback[out.OutIface] || !bytes.Equal(p.B, wire) {
		res.Kind, res.Outcome, res.After = "unexplained", &out, Endpoints(p)
		res.Why = "the host looped back a packet nfgo does not (or with other bytes)"
		r.Unexplained++
		r.Disagreements = append(r.Disagreements, Disagreement{res.Index, fmt.Sprintf("packet %d (%s on %s): %s", res.Index, res.Before, cp.Iface, res.Why)})
		r.report(res)
		return res
	}
	mac := cp.MAC
	if mac == nil {
		mac = make([]byte, 14)
		mac[12] = 0x08
	}
	in := r.Stack.Receive(p, cp.Iface, mac)
	res.Kind, res.Outcome, res.After = "loopback", &in, Endpoints(p)
	res.Conn, res.CtInfo = p.Conn, p.CtInfo
	r.Local++
	r.addReplies(res, &in)
	r.report(res)
	return res
}

// origin turns a host's own packet seen on the wire into what its socket
// sent: as Options.Origin says, else with its connection's NAT undone.
func (r *Replayer) origin(p *xt.Pkt) {
	if r.o.Origin != nil {
		if b := r.o.Origin(p.B); b != nil {
			q := append([]byte(nil), b...)
			if p.Decode(q) == nil {
				return
			}
		}
	}
	if nat.Undo(r.Stack.CT, p.B, p.Time) {
		p.Reload()
	}
}

// addReplies queues the packets nfgo generated for res's packet, each
// with the rule that made it.
func (r *Replayer) addReplies(res *Result, out *netfilter.Outcome) {
	for _, e := range out.Emitted {
		if !e.Outcome.Sent {
			continue
		}
		by := DecidingRule(r.o.Rules, out)
		pr := pendingReply{b: e.Packet, index: res.Index, madeBy: by, conn: res.Conn}
		if res.Conn != nil {
			pr.ci = conntrack.Attach(res.CtInfo)
		}
		r.pending = append(r.pending, pr)
	}
}

// DecidingRule is the rule text of the last rule that decided the
// packet's fate on its way (the REJECT that made a reply, say), "" if
// only policies did.
func DecidingRule(rs *rules.Ruleset, out *netfilter.Outcome) string {
	by := ""
	for i := 0; i < out.NSteps; i++ {
		st := out.Steps[i].Result
		if st.Rule > 0 {
			if t := rs.Table(st.Table); t != nil {
				if c := t.Chain(st.Chain); c != nil && st.Rule <= len(c.Rules) {
					by = rules.RuleSpec(rs.Family, st.Table, st.Chain, c.Rules[st.Rule-1])
				}
			}
		}
	}
	return by
}

func (r *Replayer) report(res *Result) {
	if r.o.OnPacket != nil {
		r.o.OnPacket(res)
	}
}

// Finish reports the packets nfgo sent out through captured interfaces
// that the host never sent (it returns how many).
func (r *Replayer) Finish() int {
	n := 0
	for b, q := range r.forwarded {
		for _, f := range q {
			if !r.ifaces[f.iface] {
				continue // that interface was not captured
			}
			n++
			p := &xt.Pkt{}
			p.Decode([]byte(b))
			r.Disagreements = append(r.Disagreements, Disagreement{f.index,
				fmt.Sprintf("packet %d: nfgo forwarded it out %s (%s), the host did not send it", f.index, f.iface, Endpoints(p))})
		}
	}
	return n
}

// MaskReply returns the bytes of a generated packet as compared: for an
// ICMP error (destination unreachable, time exceeded) the IP ID and,
// with it, the header checksum are zeroed. The kernel's ICMP socket
// sends without DF, so ip_select_ident gives the error a hashed
// per-destination ID (a boot-time secret key) that cannot be reproduced.
func MaskReply(b []byte) []byte {
	m := append([]byte(nil), b...)
	if len(m) < 20 {
		return m
	}
	ihl := int(m[0]&0x0F) * 4
	if m[9] == 1 && len(m) > ihl && (m[ihl] == 3 || m[ihl] == 11) {
		m[4], m[5], m[10], m[11] = 0, 0, 0, 0
	}
	return m
}

func matchReply(pending []pendingReply, b []byte) int {
	m := MaskReply(b)
	for i, q := range pending {
		if bytes.Equal(MaskReply(q.b), m) {
			return i
		}
	}
	return -1
}

// Endpoints formats a packet's addresses and ports (ICMP: its id).
func Endpoints(p *xt.Pkt) string {
	src, dst := addr4(p.Src), addr4(p.Dst)
	switch {
	case p.Proto == 1 && p.L4Len >= 8 && p.FragOffset() == 0:
		id := int(p.B[p.L4Off+4])<<8 | int(p.B[p.L4Off+5])
		return fmt.Sprintf("%s -> %s icmp type %d id %d", src, dst, p.ICMPType, id)
	case (p.Proto == 6 || p.Proto == 17) && p.L4Complete:
		proto := "tcp"
		if p.Proto == 17 {
			proto = "udp"
		}
		return fmt.Sprintf("%s:%d -> %s:%d %s", src, p.SrcPort, dst, p.DstPort, proto)
	}
	return fmt.Sprintf("%s -> %s proto %d", src, dst, p.Proto)
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}
