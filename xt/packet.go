package xt

import "github.com/nfgo/nfgo/packet"

// Pkt is what a match or target sees of a packet at a hook (the kernel's
// skb plus xt_action_param). The engine fills it once per packet and
// hook; extensions read it without allocating.
type Pkt struct {
	packet.Parsed
	Hook     Hook
	InIface  string // "" where the hook has no input device
	OutIface string // "" where the hook has no output device
	Mark     uint32
	// HotDrop is set by a match that finds the packet malformed (the
	// kernel's par->hotdrop): the packet is dropped at once.
	HotDrop bool
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
