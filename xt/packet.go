package xt

import (
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Pkt is what a match or target sees of a packet at a hook (the kernel's
// skb plus xt_action_param). The engine fills it once per packet and
// hook; extensions read it without allocating.
type Pkt struct {
	packet.Parsed
	Hook     Hook
	InIface  string // "" where the hook has no input device
	OutIface string // "" where the hook has no output device
	Mark     uint32
	// Priority is skb->priority (SET --map-prio); nothing in nfgo reads
	// it yet, as no queueing discipline does.
	Priority uint32
	// HotDrop is set by a match that finds the packet malformed (the
	// kernel's par->hotdrop): the packet is dropped at once.
	HotDrop bool
	// Trace is the kernel's skb->nf_trace, set by the TRACE target.
	Trace bool

	// MAC is the link-layer header the packet arrived with (nil for
	// locally generated packets); InHardHeaderLen and InEther describe
	// the input device, for LOG's MAC= field.
	MAC             []byte
	InHardHeaderLen int
	InEther         bool

	// Events receives LOG lines and TRACE steps; nil discards them.
	Events Events
	// Explain, when set, is told about every rule the packet is checked
	// against (nfgo trace); nil on the fast path.
	Explain Explainer
	// Table and Chain name where the packet is being evaluated, for
	// targets that report it.
	Table string

	// Time is when the packet was received (Unix nanoseconds): the
	// capture's time in replay, the clock's otherwise (xt_time, recent,
	// limit read it rather than a wall clock).
	Time int64
	// Sock is the local socket of a locally generated packet (owner
	// match, LOG --log-uid); nil for received and forwarded packets.
	Sock *Sock
	// Env gives matches the host-side facts they need.
	Env *Env
	// Scratch is a buffer targets may use to build lines (LOG); the
	// caller keeps it across packets so that logging does not allocate.
	Scratch []byte
	// Conntrack, as skb->_nfct: the entry (nil: none, the state match's
	// INVALID) and ctinfo, set by the engine's conntrack step after the
	// raw table; Untracked is set by raw's NOTRACK / CT --notrack;
	// CTDone says the step has run (or the entry was attached).
	Conn      *conntrack.Conn
	CtInfo    conntrack.CtInfo
	Untracked bool
	CTDone    bool
	// CTTemplate is set by raw's CT target (the kernel's template
	// conntrack in skb->_nfct; the first CT target a packet meets wins),
	// CTHelper is the template's helper, which the conntrack step gives
	// a connection the packet creates.
	CTTemplate bool
	CTHelper   *conntrack.Helper
	// CTZone is the template's conntrack zone (CT --zone), in which the
	// conntrack step looks the packet up and creates its entry.
	CTZone uint16
	// Tracker runs the conntrack step; nil when the host tracks nothing.
	Tracker Tracker

	// Replies are packets the host generates in reaction to this one
	// (REJECT's ICMP error or TCP RST). The stack sends them out through
	// OUTPUT and POSTROUTING, as the kernel's ip_local_out does from
	// inside the target.
	Replies [][]byte
}

// SetTOS rewrites the IPv4 TOS byte as the kernel's ipv4_change_dsfield
// does: the new byte is (tos & mask) | value, and the header checksum is
// adjusted incrementally, with the kernel's carry handling.
func (p *Pkt) SetTOS(mask, value uint8) {
	b := p.B
	check := uint32(b[10])<<8 | uint32(b[11])
	ds := b[1]&mask | value
	check += uint32(b[1])
	if (check+1)>>16 != 0 {
		check = (check + 1) & 0xFFFF
	}
	check -= uint32(ds)
	check += check >> 16
	b[10], b[11] = byte(check>>8), byte(check)
	b[1] = ds
	p.TOS = ds
}

// Sock is what a locally generated packet knows of its socket.
type Sock struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
}

// Env is the environment of the packet path, injected so that replay and
// tests are deterministic.
type Env struct {
	// Rand returns uniformly distributed 32-bit numbers (statistic
	// --mode random, the kernel's get_random_u32).
	Rand func() uint32
	// AddrType returns the kernel's RTN_* type of addr (RTN_LOCAL=2,
	// RTN_BROADCAST=3, RTN_UNICAST=1, ...); dev limits the lookup to
	// that device when non-empty (addrtype --limit-iface-in/out).
	AddrType func(addr uint32, dev string) uint8
	// RouteSrc is the source address the host would use to reach dst
	// (the route's preferred source, else the output device's primary
	// address): what icmp_send picks for errors about forwarded packets.
	RouteSrc func(dst uint32) (src uint32, ok bool)
	// MasqSource is the address MASQUERADE maps to: what the output
	// device picks towards dst's next hop (inet_select_addr: its first
	// primary global address on the next hop's subnet, else its first
	// primary global address); false when it has none.
	MasqSource func(out string, dst uint32) (uint32, bool)
	// IfaceAddr is a device's first address (REDIRECT's destination for
	// packets that arrived on it); false when it has none.
	IfaceAddr func(dev string) (uint32, bool)
	// DevMTU is a device's MTU (the MTU of a route through it: TCPMSS
	// --clamp-mss-to-pmtu); RouteMTU the MTU of the route to dst, all
	// ones where there is none (tcpmss_reverse_mtu).
	DevMTU   func(dev string) uint32
	RouteMTU func(dst uint32) uint32
	// ICMP is the host's ICMP error rate limiting state (REJECT's
	// replies); nil: no limiting.
	ICMP *ICMPLimiter
	// TZMinutesWest is the kernel's sys_tz.tz_minuteswest, used by the
	// time match without --kerneltz... (xt_time uses UTC unless
	// --kerneltz).
	TZMinutesWest int
}

// Explainer hears, for each rule visited, whether it matched and if not
// which part failed ("-s 10.0.0.0/8" or "-m tcp --dport 22").
type Explainer interface {
	Rule(p *Pkt, table, chain string, num int, matched bool, failed string)
	// End is a chain's end: its policy (built-in) or the implicit RETURN.
	End(p *Pkt, table, chain string, policy string)
}

// Events receives what the packet path reports. Implementations must not
// retain line beyond the call.
type Events interface {
	// Log is a LOG target's line (without a trailing newline) at a
	// syslog level.
	Log(p *Pkt, level uint8, line []byte)
	// Trace is one step of a traced packet: the kernel's
	// "TRACE: table:chain:comment:rulenum " line, comment being "rule",
	// "return" or "policy".
	Trace(p *Pkt, table, chain, comment string, rulenum int)
}

// Tracker is connection tracking as the hooks call it.
type Tracker interface {
	// Track is nf_conntrack_in (PREROUTING, OUTPUT after raw): it sets
	// p.Conn and p.CtInfo; false means the kernel drops the packet.
	Track(p *Pkt) bool
	// Confirm is nf_conntrack_confirm (end of INPUT and POSTROUTING);
	// false means drop.
	Confirm(p *Pkt) bool
}

// Verdict is what a target decides.
type Verdict uint8

const (
	// VerdictContinue: a non-terminating target (LOG, MARK, ...); the
	// next rule is examined (XT_CONTINUE).
	VerdictContinue Verdict = iota
	VerdictAccept
	VerdictDrop
	VerdictQueue
	VerdictReturn
)

// Matcher is implemented by matches with packet logic.
type Matcher interface {
	Match(p *Pkt) bool
}

// Targeter is implemented by targets with packet logic.
type Targeter interface {
	Target(p *Pkt) Verdict
}
