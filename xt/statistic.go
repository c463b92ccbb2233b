package xt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// statistic: --mode random [!] --probability p |
// --mode nth [!] --every n --packet p  (libxt_statistic, struct
// xt_statistic_info).

var statisticMatch = Def{
	Name: "statistic",
	Kind: KindMatch,
	Options: []Option{
		{Name: "mode", Arg: true, Flags: OptMand},
		{Name: "probability", Arg: true, Flags: OptInvert, Excl: []string{"every", "packet"}},
		{Name: "every", Arg: true, Flags: OptInvert, Excl: []string{"probability"}, Also: []string{"packet"}},
		{Name: "packet", Arg: true, Excl: []string{"probability"}, Also: []string{"every"}},
	},
	New: func() Ext { return &Statistic{} },
}

// Statistic modes and flags.
const (
	StatisticModeRandom = 0
	StatisticModeNth    = 1
	StatisticInvert     = 0x1
)

// Statistic is struct xt_statistic_info. In the kernel struct
// u.random.probability and u.nth.every share storage; Every holds both
// (the probability scaled to 2^31 in random mode, n-1 in nth mode).
type Statistic struct {
	Mode   uint16
	Flags  uint16
	Every  uint32 // u.nth.every, alias u.random.probability
	Packet uint32
	Count  uint32
	seen   uint8 // options given: 1 probability, 2 every, 4 packet
	// count is the kernel's master->count: the nth counter, shared by
	// every packet through the rule and updated atomically. Final starts
	// it at Count, as statistic_mt_check does when the rule is loaded.
	count atomic.Uint32
}

// Probability is u.random.probability.
func (s *Statistic) Probability() uint32 { return s.Every }

// ParseCDouble is strtod(s, &end) requiring the whole string (as
// libxtables' XTTYPE_DOUBLE does): C white space, sign, decimal or hex
// (0x, optional p exponent) numbers, inf, infinity, nan, nan(chars).
func ParseCDouble(s string) (float64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	body := t
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	sign := func(v float64) float64 {
		if neg {
			return -v
		}
		return v
	}
	lower := strings.ToLower(body)
	switch {
	case lower == "inf" || lower == "infinity":
		return sign(math.Inf(1)), true
	case lower == "nan":
		return math.NaN(), true
	case strings.HasPrefix(lower, "nan(") && strings.HasSuffix(lower, ")"):
		for _, c := range lower[4 : len(lower)-1] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '_') {
				return 0, false
			}
		}
		return math.NaN(), true
	}
	isHex := len(lower) > 2 && lower[0] == '0' && lower[1] == 'x'
	digits := "0123456789"
	expCh := byte('e')
	i := 0
	if isHex {
		digits = "0123456789abcdef"
		expCh = 'p'
		i = 2
	}
	nd := 0
	for i < len(lower) && strings.IndexByte(digits, lower[i]) >= 0 {
		i, nd = i+1, nd+1
	}
	if i < len(lower) && lower[i] == '.' {
		i++
		for i < len(lower) && strings.IndexByte(digits, lower[i]) >= 0 {
			i, nd = i+1, nd+1
		}
	}
	if nd == 0 {
		return 0, false // "0x" without digits stops after the 0
	}
	hasExp := false
	if i < len(lower) && lower[i] == expCh {
		j := i + 1
		if j < len(lower) && (lower[j] == '+' || lower[j] == '-') {
			j++
		}
		k := j
		for k < len(lower) && lower[k] >= '0' && lower[k] <= '9' {
			k++
		}
		if k > j {
			i, hasExp = k, true
		}
	}
	if i != len(lower) {
		return 0, false
	}
	num := lower
	if isHex && !hasExp {
		num += "p0"
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		// Out of range: strtod gives ±HUGE_VAL or 0 with ERANGE, which
		// xtopt_parse_float does not check.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return sign(v), true
		}
		return 0, false
	}
	return sign(v), true
}

// lround32 is (uint32_t)lround(x) on x86-64 glibc (NaN: 0).
func lround32(x float64) uint32 {
	if math.IsNaN(x) {
		return 0
	}
	return uint32(int64(math.Round(x)))
}

func (s *Statistic) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	if invert {
		s.Flags |= StatisticInvert
	}
	switch o.Name {
	case "mode":
		switch arg {
		case "random":
			s.Mode = StatisticModeRandom
		case "nth":
			s.Mode = StatisticModeNth
		default:
			return Errorf("Bad mode \"%s\"", arg)
		}
	case "probability":
		v, ok := ParseCDouble(arg)
		if !ok || v < 0 || v > 1 {
			return Errorf("statistic: bad value for option \"--probability\", or out of range (0-1).\n")
		}
		s.Every = lround32(0x80000000 * v)
		s.seen |= 1
	case "every":
		v, err := ParseUintOpt("statistic", "every", arg, 1, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		s.Every = uint32(v) - 1
		s.seen |= 2
	case "packet":
		v, err := ParseUintOpt("statistic", "packet", arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		s.Packet = uint32(v)
		s.seen |= 4
	}
	return nil
}

func (s *Statistic) Final(c *Ctx) error {
	if s.Mode == StatisticModeRandom && s.seen&1 == 0 {
		return Errorf("--probability must be specified when using random mode")
	}
	if s.Mode == StatisticModeNth && s.seen&6 == 0 {
		return Errorf("--every and --packet must be specified when using nth mode")
	}
	if s.Packet > s.Every {
		return Errorf("the --packet p must be 0 <= p <= n-1")
	}
	s.Count = s.Every - s.Packet
	s.count.Store(s.Count)
	return nil
}

// write is print_match with prefix "" (-L) or "--" (save).
func (s *Statistic) write(b *strings.Builder, prefix string) {
	inv := ""
	if s.Flags&StatisticInvert != 0 {
		inv = " !"
	}
	switch s.Mode {
	case StatisticModeRandom:
		fmt.Fprintf(b, " %smode random%s %sprobability %s", prefix, inv, prefix,
			strconv.FormatFloat(float64(s.Every)/0x80000000, 'f', 11, 64))
	case StatisticModeNth:
		fmt.Fprintf(b, " %smode nth%s %severy %d", prefix, inv, prefix, s.Every+1)
		if s.Packet != 0 || prefix != "" {
			fmt.Fprintf(b, " %spacket %d", prefix, s.Packet)
		}
	}
}

func (s *Statistic) Save(b *strings.Builder, c *Ctx) { s.write(b, "--") }

func (s *Statistic) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" statistic")
	s.write(b, "")
}

// Match is statistic_mt. Random mode draws p.Env.Rand() and matches when
// its low 31 bits are below the probability (scaled to 2^31), so
// probability 1 always matches and 0 never. With no Env (or no Rand) the
// draw is taken as 0x7FFFFFFF, the largest: only a certain event
// (probability 1) happens, which keeps tests and replay deterministic.
//
// Nth mode steps the rule's counter: it runs Count, Count+1, ... up to
// every-1, then wraps to 0, and the packet that makes it wrap matches
// (with "--every n --packet p" the first match is packet p+1 after the
// rule is loaded, then every n-th). Like the kernel's, the counter lives
// as long as the loaded rule: the kernel makes a new one, starting again
// at Count, whenever the table is replaced (iptables-legacy replaces the
// whole table on every change); nfgo's counter starts again when the rule
// is parsed anew.
func (s *Statistic) Match(p *Pkt) bool {
	ret := s.Flags&StatisticInvert != 0
	switch s.Mode {
	case StatisticModeRandom:
		r := uint32(0x7FFFFFFF)
		if p.Env != nil && p.Env.Rand != nil {
			r = p.Env.Rand() & 0x7FFFFFFF
		}
		if r < s.Every {
			ret = !ret
		}
	case StatisticModeNth:
		for {
			o := s.count.Load()
			n := o + 1
			if o == s.Every {
				n = 0
			}
			if s.count.CompareAndSwap(o, n) {
				if n == 0 {
					ret = !ret
				}
				break
			}
		}
	}
	return ret
}
