package xt

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/logline"
)

// LOG: -j LOG [--log-level L] [--log-prefix P] [--log-tcp-sequence]
// [--log-tcp-options] [--log-ip-options] [--log-uid] [--log-macdecode]
// (libxt_LOG, struct xt_log_info).

var logTarget = Def{
	Name: "LOG",
	Kind: KindTarget,
	Options: []Option{
		{Name: "log-level", Arg: true},
		{Name: "log-prefix", Arg: true},
		{Name: "log-tcp-sequence"},
		{Name: "log-tcp-options"},
		{Name: "log-ip-options"},
		{Name: "log-uid"},
		{Name: "log-macdecode"},
	},
	New: func() Ext { return &Log{Level: LogDefaultLevel} },
}

// LOG flags (XT_LOG_*).
const (
	LogTCPSeq    = 0x01
	LogTCPOpt    = 0x02
	LogIPOpt     = 0x04
	LogUID       = 0x08
	LogNFLog     = 0x10
	LogMACDecode = 0x20
	LogMask      = 0x2f

	LogDefaultLevel = 4 // LOG_WARNING
	logPrefixSize   = 30
)

// Log is struct xt_log_info.
type Log struct {
	Level    uint8
	LogFlags uint8
	Prefix   string // at most 29 bytes
}

// syslogLevels is xtopt_parse_sysloglevel's table (exact, case-sensitive).
var syslogLevels = map[string]uint8{
	"alert": 1, "crit": 2, "debug": 7, "emerg": 0, "error": 3,
	"info": 6, "notice": 5, "panic": 0, "warning": 4,
}

// ParseSyslogLevel is XTTYPE_SYSLOGLEVEL: a number 0-7 or a level name.
func ParseSyslogLevel(arg string) (uint8, error) {
	if v, ok := ParseUint(arg, 0, 7); ok {
		return uint8(v), nil
	}
	if v, ok := syslogLevels[arg]; ok {
		return v, nil
	}
	return 0, Errorf("log level \"%s\" unknown\n", arg)
}

// priorityName is priority2name over glibc's prioritynames table.
func priorityName(level uint8) (string, bool) {
	names := [...]string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"}
	if int(level) < len(names) {
		return names[level], true
	}
	if level == 0x10 { // INTERNAL_NOPRI
		return "none", true
	}
	return "", false
}

// ParseXtString is xtopt_parse_string for an XTOPT_PUT string of the given
// buffer size with a minimum length: the value is cut to size-1 bytes.
func ParseXtString(arg string, min, size int) (string, error) {
	if min != 0 && len(arg) < min {
		return "", Errorf("Argument must have a minimum length of %d characters\n", min)
	}
	if len(arg) >= size {
		arg = arg[:size-1]
	}
	return arg, nil
}

func (l *Log) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "log-level":
		v, err := ParseSyslogLevel(arg)
		if err != nil {
			return err
		}
		l.Level = v
	case "log-prefix":
		p, err := ParseXtString(arg, 1, logPrefixSize)
		if err != nil {
			return err
		}
		l.Prefix = p
		if strings.IndexByte(arg, '\n') >= 0 {
			return Errorf("Newlines not allowed in --log-prefix")
		}
	case "log-tcp-sequence":
		l.LogFlags |= LogTCPSeq
	case "log-tcp-options":
		l.LogFlags |= LogTCPOpt
	case "log-ip-options":
		l.LogFlags |= LogIPOpt
	case "log-uid":
		l.LogFlags |= LogUID
	case "log-macdecode":
		l.LogFlags |= LogMACDecode
	}
	return nil
}

func (l *Log) Final(c *Ctx) error { return nil }

func (l *Log) Save(b *strings.Builder, c *Ctx) {
	if l.Prefix != "" {
		b.WriteString(" --log-prefix")
		SaveString(b, l.Prefix)
	}
	if l.Level != LogDefaultLevel {
		fmt.Fprintf(b, " --log-level %d", l.Level)
	}
	if l.LogFlags&LogTCPSeq != 0 {
		b.WriteString(" --log-tcp-sequence")
	}
	if l.LogFlags&LogTCPOpt != 0 {
		b.WriteString(" --log-tcp-options")
	}
	if l.LogFlags&LogIPOpt != 0 {
		b.WriteString(" --log-ip-options")
	}
	if l.LogFlags&LogUID != 0 {
		b.WriteString(" --log-uid")
	}
	if l.LogFlags&LogMACDecode != 0 {
		b.WriteString(" --log-macdecode")
	}
}

func (l *Log) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" LOG")
	if numeric {
		fmt.Fprintf(b, " flags %d level %d", l.LogFlags, l.Level)
	} else {
		if n, ok := priorityName(l.Level); ok {
			b.WriteString(" level " + n)
		} else {
			fmt.Fprintf(b, " UNKNOWN level %d", l.Level)
		}
		if l.LogFlags&LogTCPSeq != 0 {
			b.WriteString(" tcp-sequence")
		}
		if l.LogFlags&LogTCPOpt != 0 {
			b.WriteString(" tcp-options")
		}
		if l.LogFlags&LogIPOpt != 0 {
			b.WriteString(" ip-options")
		}
		if l.LogFlags&LogUID != 0 {
			b.WriteString(" uid")
		}
		if l.LogFlags&LogMACDecode != 0 {
			b.WriteString(" macdecode")
		}
		if l.LogFlags&^LogMask != 0 {
			b.WriteString(" unknown-flags")
		}
	}
	if l.Prefix != "" {
		b.WriteString(" prefix \"" + l.Prefix + "\"")
	}
}

// Check is log_tg_check.
func (l *Log) Check(c *Ctx) error {
	if l.Level >= 8 {
		return EINVAL("xt_LOG: level %d invalid", l.Level)
	}
	return nil
}

// Target is xt_LOG's log_tg: the kernel's syslog line for the packet, then
// the next rule (XT_CONTINUE).
func (l *Log) Target(p *Pkt) Verdict {
	if p.Events == nil {
		return VerdictContinue
	}
	lp := logline.Packet{
		Prefix: l.Prefix, In: p.InIface, Out: p.OutIface,
		MAC: p.MAC, HardHeaderLen: p.InHardHeaderLen, MACEther: p.InEther,
		IP: p.B, Mark: p.Mark, Flags: l.LogFlags & LogMask,
	}
	if p.Sock != nil {
		lp.HasUID, lp.UID, lp.GID = true, p.Sock.UID, p.Sock.GID
	}
	p.Scratch = logline.Append(p.Scratch[:0], &lp)
	p.Events.Log(p, l.Level, p.Scratch)
	return VerdictContinue
}
