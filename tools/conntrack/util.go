package conntrack

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nfgo/nfgo/xt"
)

// toolErr is an exit_error: PARAMETER_PROBLEM (2) adds the "Try" line,
// OTHER_PROBLEM (1) does not. nfgo's own refusals are not prefixed with
// conntrack's name.
type toolErr struct {
	code  int
	msg   string
	nfgo  bool
	extra string // printed on stderr before the message (warnings)
}

func (e *toolErr) Error() string { return e.msg }

func paramErr(format string, a ...any) error {
	return &toolErr{code: 2, msg: fmt.Sprintf(format, a...)}
}

func otherErr(format string, a ...any) error {
	return &toolErr{code: 1, msg: fmt.Sprintf(format, a...)}
}

// unsupported is nfgo's refusal of something it cannot do faithfully.
func unsupported(format string, a ...any) error {
	return &toolErr{code: 1, msg: "nfgo conntrack: " + fmt.Sprintf(format, a...), nfgo: true}
}

type optional[T any] struct {
	ok bool
	v  T
}

func (o *optional[T]) set(v T) { o.ok, o.v = true, v }

func strtoulPrefix(s string) (uint64, int, bool) { return xt.StrtoulPrefix(s, 0) }

// strtoul is C strtoul(s, NULL, 0): what it can read, 0 if nothing.
func strtoul(s string) uint64 {
	v, _, _ := xt.StrtoulPrefix(s, 0)
	return v
}

// atoi is C atoi (strtol base 10, the long clamped, then an int).
func atoi(s string) int32 {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > (1<<63)/10 {
			over = true
		}
		v = v*10 + uint64(s[i]-'0')
		if v > 1<<63 {
			over = true
		}
	}
	var l int64
	switch {
	case over && neg:
		l = -1 << 63
	case over:
		l = 1<<63 - 1
	case neg:
		l = -int64(v)
	default:
		if v > 1<<63-1 {
			l = 1<<63 - 1
		} else {
			l = int64(v)
		}
	}
	return int32(l)
}

// atol is C atol (strtol base 10).
func atol(s string) int64 {
	// Reuse atoi's parse but keep the long.
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > (1<<63)/10 {
			over = true
		}
		v = v*10 + uint64(s[i]-'0')
		if v > 1<<63 {
			over = true
		}
	}
	switch {
	case over && neg:
		return -1 << 63
	case over:
		return 1<<63 - 1
	case neg:
		return -int64(v)
	}
	if v > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(v)
}

// inetAton is glibc's inet_aton: one to four parts (each strtoul base 0,
// starting with a digit), the last filling the remaining bytes; the
// address may be followed by white space and anything.
func inetAton(s string) (uint32, bool) {
	var parts []uint64
	i := 0
	for {
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v, n, erange := xt.StrtoulPrefix(s[i:], 0)
		if n == 0 || erange || v > 0xFFFFFFFF {
			return 0, false
		}
		i += n
		parts = append(parts, v)
		if i < len(s) && s[i] == '.' {
			if len(parts) >= 4 {
				return 0, false
			}
			i++
			continue
		}
		break
	}
	if i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) < 0 {
		return 0, false
	}
	var a uint64
	switch len(parts) {
	case 1:
		a = parts[0]
	case 2:
		if parts[0] > 0xFF || parts[1] > 0xFFFFFF {
			return 0, false
		}
		a = parts[0]<<24 | parts[1]
	case 3:
		if parts[0] > 0xFF || parts[1] > 0xFF || parts[2] > 0xFFFF {
			return 0, false
		}
		a = parts[0]<<24 | parts[1]<<16 | parts[2]
	case 4:
		for _, p := range parts {
			if p > 0xFF {
				return 0, false
			}
		}
		a = parts[0]<<24 | parts[1]<<16 | parts[2]<<8 | parts[3]
	}
	return uint32(a), true
}

// inetPton6 is inet_pton(AF_INET6): no zones, no IPv4 forms.
func inetPton6(s string) bool {
	if strings.ContainsAny(s, "%") || !strings.Contains(s, ":") {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

const (
	afUnspec = 0
	afInet   = 2
	afInet6  = 10
)

// address is a parsed -s/-d/-r/-q/--mask-*/NAT argument.
type address struct {
	family int
	v4     uint32
}

// parseAddr is conntrack's parse_addr: the argument cut at 45 bytes
// (INET6_ADDRSTRLEN - 1), an optional /len (mask -1 none, -2 invalid).
func parseAddr(cp string, wantMask bool) (address, int) {
	if len(cp) > 45 {
		cp = cp[:45]
	}
	mask := -1
	if wantMask {
		if i := strings.IndexByte(cp, '/'); i >= 0 {
			rest := cp[i+1:]
			mask = parseStrtol10(rest)
			cp = cp[:i]
		}
	}
	if v, ok := inetAton(cp); ok {
		if mask > 32 {
			mask = -2
		}
		return address{family: afInet, v4: v}, mask
	}
	if inetPton6(cp) {
		if mask > 128 {
			mask = -2
		}
		return address{family: afInet6}, mask
	}
	return address{}, mask
}

// parseStrtol10 is the netmask part: strtol base 10 that must use the
// whole string and be >= 0, else -2.
func parseStrtol10(s string) int {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	v := int64(0)
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
	}
	if i == start {
		// strtol parsed nothing: end == the whole argument, value 0.
		if len(s) == 0 {
			return 0
		}
		return -2
	}
	if i != len(s) || (neg && v != 0) {
		return -2
	}
	if v > 1<<30 {
		return -2
	}
	return int(v)
}
