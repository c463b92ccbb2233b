package logpipe

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RouteSpec is a route as the command line gives it (ParseRoute).
type RouteSpec struct {
	Prefix   string
	Target   string // a file, "-" (standard output), "syslog" or "syslog:SOCKET"
	Continue bool   // "+=": the line also goes on to later routes and the default
}

// Route targets other than files.
const (
	TargetStdout = "-"
	TargetSyslog = "syslog"
)

// SyslogPath says whether the target is a syslog socket, and which.
func (s RouteSpec) SyslogPath() (string, bool) {
	if s.Target == TargetSyslog {
		return DefaultSyslogPath, true
	}
	if p, ok := strings.CutPrefix(s.Target, TargetSyslog+":"); ok {
		return p, true
	}
	return "", false
}

const maxPrefix = 1024 // the kernel's longest line

// ParseRoute parses PREFIX=TARGET (lines starting with PREFIX go to
// TARGET and nowhere else: the first matching route wins, as an rsyslog
// rule followed by "& stop") or PREFIX+=TARGET (they also go on to the
// routes after it and to the default sink, as an rsyslog rule alone).
// PREFIX runs to the first "=" (or "+="); a prefix holding "=", ending in
// "+" or starting with a double quote is written as a Go string literal:
// "IN=eth1 "=/var/log/eth1.log. TARGET is a file, "-" for standard
// output, or "syslog" ("syslog:SOCKET") for the syslog socket /dev/log.
//
//	[plantegg]=/var/log/plantegg.log
func ParseRoute(s string) (RouteSpec, error) {
	var r RouteSpec
	var rest string
	if strings.HasPrefix(s, `"`) {
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
			} else if s[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return r, fmt.Errorf("route %q: the quoted prefix has no closing quote", s)
		}
		p, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return r, fmt.Errorf("route %q: bad quoted prefix %s (a Go string literal)", s, s[:end+1])
		}
		r.Prefix, rest = p, s[end+1:]
		switch {
		case strings.HasPrefix(rest, "+="):
			r.Continue, rest = true, rest[2:]
		case strings.HasPrefix(rest, "="):
			rest = rest[1:]
		default:
			return r, fmt.Errorf("route %q: \"=\" or \"+=\" must follow the quoted prefix", s)
		}
	} else {
		i := strings.IndexByte(s, '=')
		if i < 0 {
			return r, fmt.Errorf("route %q: want PREFIX=FILE, e.g. '[plantegg]=/var/log/plantegg.log'", s)
		}
		r.Prefix, rest = s[:i], s[i+1:]
		if p, ok := strings.CutSuffix(r.Prefix, "+"); ok {
			r.Prefix, r.Continue = p, true
		}
	}
	r.Target = rest
	switch {
	case r.Prefix == "":
		return r, fmt.Errorf("route %q: empty prefix (lines no route takes go to the default log)", s)
	case len(r.Prefix) > maxPrefix:
		return r, fmt.Errorf("route %q: prefix longer than %d bytes", s, maxPrefix)
	case strings.ContainsAny(r.Prefix, "\n\x00"):
		return r, fmt.Errorf("route %q: a prefix cannot hold a newline or NUL (no log line does)", s)
	case r.Target == "":
		return r, fmt.Errorf("route %q: no file after \"=\"", s)
	case strings.ContainsRune(r.Target, 0):
		return r, fmt.Errorf("route %q: NUL in the file name", s)
	}
	if p, ok := r.SyslogPath(); ok && p == "" {
		return r, fmt.Errorf("route %q: no socket after \"syslog:\"", s)
	}
	return r, nil
}

// String gives the spec in the form ParseRoute reads.
func (s RouteSpec) String() string {
	p := s.Prefix
	if strings.ContainsRune(p, '=') || strings.HasPrefix(p, `"`) || strings.HasSuffix(p, "+") || !printable(p) {
		p = strconv.Quote(p)
	}
	op := "="
	if s.Continue {
		op = "+="
	}
	return p + op + s.Target
}

func printable(s string) bool {
	for _, c := range s {
		if c == utf8.RuneError || !strconv.IsPrint(c) {
			return false
		}
	}
	return true
}

// ParseRotate parses a rotation policy: comma-separated words, each at
// most once, with logrotate's names:
//
//	daily          rotate when the day changes
//	size=N         rotate before the file grows past N bytes (N, Nk, NM, NG:
//	               kilo-, mega-, gigabytes of 1024)
//	keep=N         keep N rotated files (logrotate's rotate; default 30)
//	compress       gzip rotated files
//	delaycompress  leave the newest rotated file uncompressed
//
// daily, size or both must be given: "daily,size=100M,keep=30,compress".
func ParseRotate(s string) (Rotate, error) {
	var r Rotate
	if strings.TrimSpace(s) == "" {
		return r, fmt.Errorf("empty rotation policy: want e.g. 'daily,keep=30,compress'")
	}
	seen := map[string]bool{}
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		key, val, hasVal := strings.Cut(w, "=")
		if seen[key] {
			return r, fmt.Errorf("rotation %q: %s given twice", s, key)
		}
		seen[key] = true
		valued := key == "size" || key == "keep"
		if valued && !hasVal {
			return r, fmt.Errorf("rotation %q: %s needs a value (%s=N)", s, key, key)
		}
		if hasVal && (key == "daily" || key == "compress" || key == "delaycompress") {
			return r, fmt.Errorf("rotation %q: %s takes no value", s, key)
		}
		switch key {
		case "daily":
			r.Daily = true
		case "compress":
			r.Compress = true
		case "delaycompress":
			r.DelayCompress = true
		case "size":
			n, err := parseSize(val)
			if err != nil {
				return r, fmt.Errorf("rotation %q: size %q: %v", s, val, err)
			}
			r.Size = n
		case "keep":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 100000 {
				return r, fmt.Errorf("rotation %q: keep %q: want a count of rotated files from 1 to 100000", s, val)
			}
			r.Keep = n
		case "":
			return r, fmt.Errorf("rotation %q: empty word", s)
		default:
			return r, fmt.Errorf("rotation %q: unknown word %q (want daily, size=N, keep=N, compress, delaycompress)", s, key)
		}
	}
	if !r.Daily && r.Size == 0 {
		return r, fmt.Errorf("rotation %q: say when to rotate: daily, size=N or both", s)
	}
	if r.DelayCompress && !r.Compress {
		return r, fmt.Errorf("rotation %q: delaycompress delays compress, which is not given", s)
	}
	if r.Keep == 0 {
		r.Keep = DefaultKeep
	}
	return r, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}}

func parseSize(v string) (int64, error) {
	mult := int64(1)
	if v != "" {
		switch v[len(v)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			v = v[:len(v)-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || v[0] == '+' {
		return 0, fmt.Errorf("want a positive number of bytes, with k, M or G after it")
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("too big")
	}
	return n * mult, nil
}

// String gives the policy in the form ParseRotate reads.
func (r Rotate) String() string {
	var w []string
	if r.Daily {
		w = append(w, "daily")
	}
	if r.Size > 0 {
		sz := strconv.FormatInt(r.Size, 10)
		for _, u := range sizeUnits {
			if r.Size%u.mult == 0 {
				sz = strconv.FormatInt(r.Size/u.mult, 10) + u.suffix
				break
			}
		}
		w = append(w, "size="+sz)
	}
	w = append(w, "keep="+strconv.Itoa(r.keep()))
	if r.Compress {
		w = append(w, "compress")
	}
	if r.DelayCompress {
		w = append(w, "delaycompress")
	}
	return strings.Join(w, ",")
}
