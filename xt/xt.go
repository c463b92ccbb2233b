// Package xt owns the iptables extensions: matches and targets, one file per
// extension, each holding its options, parser, validation, printers (-L and
// iptables-save forms) and, as the engine grows, its packet logic. Extensions
// are listed in an explicit registry (registry.go).
//
// The option machinery mirrors libxtables' "x6" option tables: options are
// data (name, argument, may it be inverted, may it repeat, is it mandatory,
// which options it excludes or requires) and the generic checks and their
// error messages live here once, not in every extension.
package xt

import (
	"fmt"
	"strings"
)

// Family is an address family a rule or extension belongs to.
type Family uint8

const (
	FamilyAny  Family = 0
	FamilyIPv4 Family = 2  // NFPROTO_IPV4
	FamilyIPv6 Family = 10 // NFPROTO_IPV6
)

// Kind tells a match from a target.
type Kind uint8

const (
	KindMatch Kind = iota
	KindTarget
)

// Hook is a netfilter hook number, as the kernel numbers them.
type Hook uint8

const (
	HookPreRouting Hook = iota
	HookLocalIn
	HookForward
	HookLocalOut
	HookPostRouting
	NumHooks
)

// HookMask is a set of hooks.
type HookMask uint8

func (h Hook) Mask() HookMask { return 1 << h }

// Hook masks used by extension restrictions.
const (
	MaskPre  = HookMask(1 << HookPreRouting)
	MaskIn   = HookMask(1 << HookLocalIn)
	MaskFwd  = HookMask(1 << HookForward)
	MaskOut  = HookMask(1 << HookLocalOut)
	MaskPost = HookMask(1 << HookPostRouting)
	MaskAll  = MaskPre | MaskIn | MaskFwd | MaskOut | MaskPost
)

// Exit statuses of the iptables tools.
const (
	OtherProblem     = 1
	ParameterProblem = 2
	VersionProblem   = 3
	ResourceProblem  = 4
)

// Error is an error the tools report the way xtables_error does: the message
// after "prog vX: ", and the exit status that selects the trailing hint.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf builds a parameter problem (exit 2, "Try ... --help" hint).
func Errorf(format string, a ...any) error {
	return &Error{Status: ParameterProblem, Msg: fmt.Sprintf(format, a...)}
}

// OtherErrorf builds an "other problem" (exit 1, no hint).
func OtherErrorf(format string, a ...any) error {
	return &Error{Status: OtherProblem, Msg: fmt.Sprintf(format, a...)}
}

// KernelError is a rule the kernel's checkentry refuses. iptables-legacy
// reports these as "iptables: Invalid argument. Run `dmesg' for more
// information." (exit 1); Dmesg holds the line the kernel would have logged.
type KernelError struct {
	Errno string // "Invalid argument", "Too many links", ...
	Dmesg string
}

func (e *KernelError) Error() string { return e.Errno + ": " + e.Dmesg }

// EINVAL is the common kernel refusal.
func EINVAL(format string, a ...any) error {
	return &KernelError{Errno: "Invalid argument", Dmesg: fmt.Sprintf(format, a...)}
}

// OptFlag describes what an option permits.
type OptFlag uint8

const (
	OptInvert OptFlag = 1 << iota // may be preceded by "!"
	OptMulti                      // may be given more than once
	OptMand                       // must be given
)

// Option is one option of an extension, as data.
type Option struct {
	Name  string // long name without the leading "--"
	Arg   bool   // takes an argument
	Flags OptFlag
	Excl  []string // options it may not be combined with
	Also  []string // options it requires
}

// Def describes one extension: how to make instances and where the kernel
// allows it.
type Def struct {
	Name     string
	Kind     Kind
	Family   Family // FamilyAny for libxt_ extensions
	Revision uint8
	Options  []Option
	New      func() Ext

	// Kernel restrictions checked when a rule is committed (checkentry).
	Proto    uint8    // required layer-4 protocol (not inverted), 0 = any
	Table    string   // the only table allowed, "" = any
	Hooks    HookMask // hooks allowed, 0 = any
	NoRepeat bool     // the x6 framework's default: options once only (unused)
	// Conntrack: the kernel module takes a reference on connection
	// tracking for the namespace (nf_ct_netns_get). Without any such rule
	// no packet has a conntrack entry, and the nat table, whose chains
	// only see a connection's first packet, is never traversed.
	Conntrack bool
}

// Ext is one instance of an extension inside a rule.
type Ext interface {
	// Parse handles one occurrence of option o. The generic checks (used
	// once, invertible, has an argument) have already passed.
	Parse(c *Ctx, o *Option, arg string, invert bool) error
	// Final runs after the whole command line (x6_fcheck / final_check).
	Final(c *Ctx) error
	// Save appends the iptables-save form, each option preceded by a
	// space, e.g. " --dport 22".
	Save(b *strings.Builder, c *Ctx)
	// Print appends the -L form (the extension's print callback).
	Print(b *strings.Builder, c *Ctx, numeric bool)
}

// Checker is implemented by extensions with kernel-side checks beyond the
// table/hook/proto restrictions in Def.
type Checker interface {
	Check(c *Ctx) error
}

// PacketCapable is implemented by extensions whose packet logic covers
// only some of their options: the engine refuses a rule whose instance
// reports an error, rather than run it half.
type PacketCapable interface {
	PacketLogic() error
}

// StoreSaver is implemented by extensions whose iptables-save form loses
// information the kernel would keep in its binary rule (an icmp code
// range, say). StoreSave writes a form that parses back to the same
// instance; the rule store uses it, iptables-save never does.
type StoreSaver interface {
	StoreSave(b *strings.Builder, c *Ctx)
}

// KernelNamer is implemented by alias targets whose kernel name (shown in
// the -L target column) differs from the name saved after -j (NOTRACK is
// CT revision 2 with an alias flag).
type KernelNamer interface {
	KernelName() string
}

// Equaler lets -D and -C compare instances when the printed form is not
// enough (by default rules compare by their saved text).
type Equaler interface {
	Equal(other Ext) bool
}

// Ctx is what an extension sees of the rule and the command around it.
type Ctx struct {
	Family   Family
	Table    string
	Proto    uint8 // -p, 0 for all
	ProtoInv bool
	Hooks    HookMask // hooks the chain is reachable from (checks only)
	Chain    string

	// Matches are the rule's matches, in order (checks only: a target's
	// checkentry may look at them, as xt_TCPMSS looks for a SYN match).
	Matches []*Instance

	// Warn receives warnings an extension prints to stderr while parsing
	// (as the C extensions do with fprintf); nil drops them.
	Warn func(msg string)

	// args/next give access to the following command line words, for
	// options with more than one argument (--tcp-flags MASK COMP).
	args []string
	next *int
}

// Warnf prints a warning line (without trailing newline) to stderr.
func (c *Ctx) Warnf(format string, a ...any) {
	if c.Warn != nil {
		c.Warn(fmt.Sprintf(format, a...))
	}
}

// NewCtx makes a context reading further arguments from args at *next.
func NewCtx(args []string, next *int) *Ctx {
	return &Ctx{args: args, next: next}
}

// SetArgs points the context at the command line being parsed.
func (c *Ctx) SetArgs(args []string, next *int) { c.args, c.next = args, next }

// PeekArg returns the next command-line word without consuming it.
func (c *Ctx) PeekArg() (string, bool) {
	if c.next == nil || *c.next >= len(c.args) {
		return "", false
	}
	return c.args[*c.next], true
}

// NextArg consumes the next command-line word.
func (c *Ctx) NextArg() (string, bool) {
	s, ok := c.PeekArg()
	if ok {
		*c.next++
	}
	return s, ok
}

// Instance is an extension instance with the option bookkeeping the generic
// checks need.
type Instance struct {
	Def   *Def
	Ext   Ext
	seen  uint64 // bit per option index
	Done  bool   // a later -m of the same name completed this one
	Saved string // cached save text, filled when the rule is built
}

// NewInstance makes a fresh instance of d.
func NewInstance(d *Def) *Instance { return &Instance{Def: d, Ext: d.New()} }

// Seen reports whether the option with this name was given.
func (in *Instance) Seen(name string) bool {
	for i := range in.Def.Options {
		if in.Def.Options[i].Name == name {
			return in.seen&(1<<uint(i)) != 0
		}
	}
	return false
}

// ParseOption runs the generic checks for option index i, then the
// extension's parser.
func (in *Instance) ParseOption(c *Ctx, i int, arg string, hasArg bool, invert bool) error {
	o := &in.Def.Options[i]
	bit := uint64(1) << uint(i)
	if o.Flags&OptMulti == 0 && in.seen&bit != 0 {
		return Errorf("%s: option \"--%s\" can only be used once.\n", in.Def.Name, o.Name)
	}
	if invert && o.Flags&OptInvert == 0 {
		return Errorf("%s: option \"--%s\" cannot be inverted.\n", in.Def.Name, o.Name)
	}
	if o.Arg && !hasArg {
		return Errorf("%s: option \"--%s\" requires an argument.\n", in.Def.Name, o.Name)
	}
	if err := in.Ext.Parse(c, o, arg, invert); err != nil {
		return err
	}
	in.seen |= bit
	return nil
}

// Final runs the extension's own final check, then the generic
// mandatory/also/excl checks, in libxtables' order (xtables_option_mfcall).
func (in *Instance) Final(c *Ctx) error {
	if err := in.Ext.Final(c); err != nil {
		return err
	}
	opts := in.Def.Options
	for i := range opts {
		o := &opts[i]
		if o.Flags&OptMand != 0 && in.seen&(1<<uint(i)) == 0 {
			return Errorf("%s: option \"--%s\" must be specified\n", in.Def.Name, o.Name)
		}
		if in.seen&(1<<uint(i)) == 0 {
			continue
		}
		for j := range opts {
			if j == i {
				continue
			}
			other := opts[j].Name
			if contains(o.Also, other) && in.seen&(1<<uint(j)) == 0 {
				return Errorf("%s: option \"--%s\" also requires \"--%s\".\n", in.Def.Name, o.Name, other)
			}
			if contains(o.Excl, other) && in.seen&(1<<uint(j)) != 0 {
				return Errorf("%s: option \"--%s\" cannot be used together with \"--%s\".\n", in.Def.Name, o.Name, other)
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
