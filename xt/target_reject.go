package xt

import "strings"

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
