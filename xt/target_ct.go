package xt

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/conntrack"
)

// CT: -j CT [--notrack] [--helper NAME] [--timeout NAME] [--ctevents LIST]
// [--expevents LIST] [--zone|--zone-orig|--zone-reply ID|mark]
// (libxt_CT revision 2, struct xt_ct_target_info_v1). Raw table only.

var ctTarget = Def{
	Conntrack: true,
	Name:      "CT",
	Kind:      KindTarget,
	Revision:  2,
	Options: []Option{
		{Name: "notrack"},
		{Name: "helper", Arg: true},
		{Name: "timeout", Arg: true},
		{Name: "ctevents", Arg: true},
		{Name: "expevents", Arg: true},
		{Name: "zone-orig", Arg: true},
		{Name: "zone-reply", Arg: true},
		{Name: "zone", Arg: true},
	},
	New:   func() Ext { return &CT{} },
	Table: "raw",
}

// CT flags (XT_CT_*).
const (
	CTNotrack      = 1 << 0
	CTNotrackAlias = 1 << 1
	CTZoneDirOrig  = 1 << 2
	CTZoneDirRepl  = 1 << 3
	CTZoneMark     = 1 << 4

	ctHelperSize  = 16
	ctTimeoutSize = 32
)

// CT is struct xt_ct_target_info_v1.
type CT struct {
	Flags     uint16
	Zone      uint16
	CtEvents  uint32
	ExpEvents uint32
	Helper    string // at most 15 bytes
	Timeout   string // at most 31 bytes
}

type ctEvent struct {
	name string
	bit  uint
}

// ctEvents and expEvents are ct_event_tbl and exp_event_tbl (bit numbers
// are enum ip_conntrack_events / ip_conntrack_expect_events).
var ctEvents = []ctEvent{
	{"new", 0}, {"related", 1}, {"destroy", 2}, {"reply", 3}, {"assured", 4},
	{"protoinfo", 5}, {"helper", 6}, {"mark", 7}, {"natseqinfo", 8}, {"secmark", 9},
}

var expEvents = []ctEvent{{"new", 0}}

func ctParseEvents(tbl []ctEvent, arg string) (uint32, error) {
	var mask uint32
	for _, t := range strings.Split(arg, ",") { // strsep: empty words too
		found := false
		for _, e := range tbl {
			if e.name == t {
				mask |= 1 << e.bit
				found = true
				break
			}
		}
		if !found {
			return 0, Errorf("Unknown event type \"%s\"", t)
		}
	}
	return mask, nil
}

func ctPrintEvents(b *strings.Builder, pfx string, tbl []ctEvent, mask uint32) {
	b.WriteString(" " + pfx + " ")
	sep := ""
	for _, e := range tbl {
		if mask&(1<<e.bit) != 0 {
			b.WriteString(sep + e.name)
			sep = ","
		}
	}
}

func (t *CT) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	var err error
	switch o.Name {
	case "notrack":
		t.Flags |= CTNotrack
	case "helper":
		t.Helper, _ = ParseXtString(arg, 0, ctHelperSize)
	case "timeout":
		t.Timeout, _ = ParseXtString(arg, 0, ctTimeoutSize)
	case "ctevents":
		t.CtEvents, err = ctParseEvents(ctEvents, arg)
	case "expevents":
		t.ExpEvents, err = ctParseEvents(expEvents, arg)
	case "zone-orig", "zone-reply", "zone":
		if o.Name == "zone-orig" {
			t.Flags |= CTZoneDirOrig
		}
		if o.Name == "zone-reply" {
			t.Flags |= CTZoneDirRepl
		}
		t.Zone = 0
		if StrCaseEqual(arg, "mark") {
			t.Flags |= CTZoneMark
		} else {
			v, ok := ParseUint(arg, 0, 0xFFFF)
			if !ok {
				return Errorf("Cannot parse %s as a zone ID", arg)
			}
			t.Zone = uint16(v)
		}
	}
	return err
}

func (t *CT) Final(c *Ctx) error { return nil }

func (t *CT) printZone(b *strings.Builder, pfx string) {
	b.WriteString(" " + pfx)
	switch t.Flags & (CTZoneDirOrig | CTZoneDirRepl) {
	case CTZoneDirOrig:
		b.WriteString("-orig")
	case CTZoneDirRepl:
		b.WriteString("-reply")
	}
	if t.Flags&CTZoneMark != 0 {
		b.WriteString(" mark")
	} else {
		fmt.Fprintf(b, " %d", t.Zone)
	}
}

func (t *CT) Save(b *strings.Builder, c *Ctx) {
	if t.Flags&CTNotrackAlias != 0 {
		return
	}
	t.print(b, "--")
}

func (t *CT) print(b *strings.Builder, pfx string) {
	if t.Flags&CTNotrack != 0 {
		b.WriteString(" " + pfx + "notrack")
	}
	if t.Helper != "" {
		b.WriteString(" " + pfx + "helper " + t.Helper)
	}
	if t.Timeout != "" {
		b.WriteString(" " + pfx + "timeout " + t.listedTimeout())
	}
	if t.CtEvents != 0 {
		ctPrintEvents(b, pfx+"ctevents", ctEvents, t.CtEvents)
	}
	if t.ExpEvents != 0 {
		ctPrintEvents(b, pfx+"expevents", expEvents, t.ExpEvents)
	}
	if t.Flags&CTZoneMark != 0 || t.Zone != 0 {
		t.printZone(b, pfx+"zone")
	}
}

// listedTimeout is the timeout name as the kernel lists it back: xt_CT
// revisions 1 and 2 declare usersize = offsetof(struct xt_ct_target_info,
// ct) (the revision 0 struct), so only the first 4 bytes of timeout[]
// reach userspace and the rest reads as zeros.
func (t *CT) listedTimeout() string {
	if len(t.Timeout) > 4 {
		return t.Timeout[:4]
	}
	return t.Timeout
}

func (t *CT) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if t.Flags&CTNotrackAlias != 0 {
		b.WriteString(" NOTRACK")
		return
	}
	b.WriteString(" CT")
	t.print(b, "")
}

// KernelName is the target's name in the kernel (and in the -L target
// column): NOTRACK is CT with the alias flag.
func (t *CT) KernelName() string { return "CT" }

// ctHelpers are the conntrack helpers the kernel registers for IPv4 (name
// and layer-4 protocol), as nf_conntrack_helper_try_module_get finds them.
var ctHelpers = []struct {
	name  string
	proto uint8
}{
	{"ftp", 6}, {"irc", 6}, {"sip", 17}, {"sip", 6}, {"tftp", 17},
	{"amanda", 17}, {"RAS", 17}, {"Q.931", 6}, {"pptp", 6}, {"sane", 6},
	{"snmp", 17}, {"netbios-ns", 17}, {"snmp_trap", 17},
}

// Check is xt_ct_tg_check: helpers and timeout policies need a layer-4
// protocol; nfgo has no timeout policies (nfct timeout), so any named one
// is missing.
func (t *CT) Check(c *Ctx) error {
	if t.Flags&CTNotrack != 0 {
		return nil
	}
	proto := c.Proto
	if c.ProtoInv {
		proto = 0
	}
	if t.Helper != "" {
		if proto == 0 {
			return &KernelError{Errno: "No chain/target/match by that name", Dmesg: "xt_CT: You must specify a L4 protocol and not use inversions on it"}
		}
		found := false
		for _, h := range ctHelpers {
			if h.name == t.Helper && h.proto == proto {
				found = true
				break
			}
		}
		if !found {
			return &KernelError{Errno: "No chain/target/match by that name", Dmesg: fmt.Sprintf("xt_CT: No such helper \"%s\"", t.Helper)}
		}
	}
	if t.Timeout != "" {
		if proto == 0 {
			return EINVAL("xt_CT: You must specify a L4 protocol and not use inversions on it")
		}
		return &KernelError{Errno: "No chain/target/match by that name", Dmesg: fmt.Sprintf("No such timeout policy \"%s\"", t.Timeout)}
	}
	return nil
}

// NOTRACK: -j NOTRACK, libxt_CT's alias of CT revision 2 with the notrack
// and alias flags: iptables-save prints "-j NOTRACK", iptables -L prints
// target "CT" and " NOTRACK".

var notrackTarget = Def{
	Conntrack: true,
	Name:      "NOTRACK",
	Kind:      KindTarget,
	Revision:  2,
	New:       func() Ext { return &CT{Flags: CTNotrack | CTNotrackAlias} },
	Table:     "raw",
}

// PacketLogic reports what of CT nfgo's packet path does: --notrack (and
// NOTRACK), a plain template (-j CT), --zone N (both directions) and
// --helper with the helpers conntrack models (ftp). Directional zones,
// zones from the mark, timeout policies and event masks have no packet
// logic yet.
func (t *CT) PacketLogic() error {
	if t.Flags&CTNotrack != 0 {
		return nil
	}
	switch {
	case t.Flags&(CTZoneDirOrig|CTZoneDirRepl) != 0:
		return OtherErrorf("target `CT' with --zone-orig or --zone-reply has no packet logic in nfgo yet")
	case t.Flags&CTZoneMark != 0:
		return OtherErrorf("target `CT' with --zone mark has no packet logic in nfgo yet")
	case t.Timeout != "":
		return OtherErrorf("target `CT' with --timeout has no packet logic in nfgo yet")
	case t.CtEvents != 0 || t.ExpEvents != 0:
		return OtherErrorf("target `CT' with --ctevents or --expevents has no packet logic in nfgo yet")
	case t.Helper != "" && conntrack.HelperByName(t.Helper, 6) == nil:
		return OtherErrorf("target `CT' with --helper %s has no packet logic in nfgo yet (only ftp)", t.Helper)
	}
	return nil
}

// Target is xt_CT's notrack_tg / xt_ct_target: a packet that already
// has conntrack information (an attached reply, or an earlier CT rule's
// template) is left alone; otherwise --notrack makes it skip connection
// tracking (ctstate UNTRACKED) and other CT rules give it their template:
// a connection it creates gets the template's helper.
func (t *CT) Target(p *Pkt) Verdict {
	if p.CTDone || p.Untracked || p.CTTemplate {
		return VerdictContinue
	}
	if t.Flags&CTNotrack != 0 {
		p.Untracked = true
		return VerdictContinue
	}
	p.CTTemplate = true
	p.CTZone = t.Zone
	if t.Helper != "" {
		// Helpers only exist for TCP here (Check refused the rest).
		p.CTHelper = conntrack.HelperByName(t.Helper, 6)
	}
	return VerdictContinue
}
