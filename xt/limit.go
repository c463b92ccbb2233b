package xt

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// limit: -m limit [--limit RATE[/second|/minute|/hour|/day]]
// [--limit-burst N] (libxt_limit, struct xt_rateinfo).

var limitMatch = Def{
	Name: "limit",
	Kind: KindMatch,
	Options: []Option{
		{Name: "limit", Arg: true},
		{Name: "limit-burst", Arg: true},
	},
	New: func() Ext {
		l := &Limit{Burst: limitDefaultBurst}
		l.Avg, _, _ = limitParseRate("3/hour")
		return l
	},
}

const (
	limitScale        = 10000 // XT_LIMIT_SCALE
	limitDefaultBurst = 5
)

// limitCPJ is xt_limit's CREDITS_PER_JIFFY: the power of two below
// 0xFFFFFFFF / (HZ*60*60*24), 128 at HZ=250 (HZ * CREDITS_PER_JIFFY is
// then 32000, as at HZ=1000).
func limitCPJ() uint32 {
	return uint32(pow2Below(0xFFFFFFFF / (HZ * 60 * 60 * 24)))
}

// Limit is struct xt_rateinfo: the user-visible part, then the kernel's
// per-rule state (credit_cap and cost, and the xt_limit_priv the kernel
// allocates in checkentry).
type Limit struct {
	Avg   uint32 // average period between packets, in 1/10000 s
	Burst uint32

	mu        sync.Mutex
	started   bool
	prev      uint64 // jiffies of the last update
	credit    uint32
	creditCap uint32
	cost      uint32
	cpj       uint32
}

// cStrtoll is strtoll(s, NULL, 10): leading space, sign, digits,
// saturating on overflow; 0 when there is no number.
func cStrtoll(s string) int64 {
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
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			over = true
			continue
		}
		v = v*10 + d
	}
	if neg {
		if over || v > 1<<63 {
			return math.MinInt64
		}
		return -int64(v)
	}
	if over || v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// rateUnit is the "/unit" suffix of a rate: the multiplier in seconds, or
// 0 for a bad unit (strncasecmp prefix matching, as the C parsers do).
func rateUnit(rate string) (uint64, bool) {
	i := strings.IndexByte(rate, '/')
	if i < 0 {
		return 1, true
	}
	u := rate[i+1:]
	if u == "" {
		return 0, false
	}
	switch {
	case strncaseEqPrefix(u, "second"):
		return 1, true
	case strncaseEqPrefix(u, "minute"):
		return 60, true
	case strncaseEqPrefix(u, "hour"):
		return 60 * 60, true
	case strncaseEqPrefix(u, "day"):
		return 24 * 60 * 60, true
	}
	return 0, false
}

// limitParseRate is libxt_limit's parse_rate.
func limitParseRate(rate string) (uint32, bool, error) {
	mult, ok := rateUnit(rate)
	if !ok {
		return 0, false, nil
	}
	r := uint32(int32(cStrtoll(rate))) // atoi
	if r == 0 {
		return 0, false, nil
	}
	v := uint32(limitScale*mult) / r
	if v == 0 {
		return 0, false, Errorf("Rate too fast \"%s\"", rate)
	}
	return v, true, nil
}

func (l *Limit) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "limit":
		v, ok, err := limitParseRate(arg)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf("bad rate \"%s\"'", arg)
		}
		l.Avg = v
	case "limit-burst":
		v, err := ParseUintOpt("limit", o.Name, arg, 0, 10000)
		if err != nil {
			return err
		}
		l.Burst = uint32(v)
	}
	return nil
}

func (l *Limit) Final(c *Ctx) error { return nil }

// limitUser2Credits is xt_limit's user2credits (32-bit arithmetic).
func limitUser2Credits(user uint32) uint32 {
	hzcpj := uint32(HZ) * limitCPJ()
	if user > 0xFFFFFFFF/hzcpj {
		return (user / limitScale) * hzcpj
	}
	return user * hzcpj / limitScale
}

// Match is xt_limit's limit_mt, a token bucket in credits: the bucket
// holds user2credits(avg*burst) credits when full (credit_cap), a packet
// costs user2credits(avg), and every jiffy adds CREDITS_PER_JIFFY. The
// arithmetic is the kernel's 32-bit one: the credit gained since the last
// update is (now-prev)*CREDITS_PER_JIFFY truncated to 32 bits and added
// with wrap-around before the cap, so after about 2^32/128 jiffies (38
// hours at HZ=250) without a packet the bucket can come back nearly
// empty, as in the kernel.
//
// The kernel fills the bucket and sets prev in checkentry, i.e. whenever
// the table is replaced (iptables-legacy replaces the whole table on
// every change), so a limit starts full again after any change to its
// table. nfgo has no checkentry time: the state is made on the rule's
// first packet, with prev at that packet's time and the bucket full; the
// decisions are the same as long as that packet comes less than 38 hours
// after the rule was loaded (a full bucket stays full). The state lives
// as long as the parsed rule. The clock never goes backwards: a packet
// earlier than the last one seen is taken as arriving at the same jiffy.
func (l *Limit) Match(p *Pkt) bool {
	now := Jiffies(p.Time)
	l.mu.Lock()
	if !l.started {
		l.started = true
		l.cpj = limitCPJ()
		l.credit = limitUser2Credits(l.Avg * l.Burst)
		l.creditCap = l.credit
		l.cost = limitUser2Credits(l.Avg)
		l.prev = now
	}
	if now < l.prev {
		now = l.prev
	}
	// The kernel's fast path (no credit and nothing to add) gives the
	// same answer as the update below.
	inc := uint32(now-l.prev) * l.cpj
	l.prev = now
	credit := l.credit + inc
	if credit > l.creditCap {
		credit = l.creditCap
	}
	ok := credit >= l.cost
	if ok {
		credit -= l.cost
	}
	l.credit = credit
	l.mu.Unlock()
	return ok
}

// Check is xt_limit's limit_mt_check.
func (l *Limit) Check(c *Ctx) error {
	if l.Burst == 0 || limitUser2Credits(l.Avg*l.Burst) < limitUser2Credits(l.Avg) {
		// The kernel logs "xt_limit: Overflow, try lower: AVG/BURST", but
		// iptables adds the dmesg hint only for EINVAL, and the rules
		// layer adds it whenever Dmesg is set: keep it empty for ERANGE.
		return &KernelError{Errno: "Numerical result out of range"}
	}
	return nil
}

var limitRates = []struct {
	name string
	mult uint32
}{
	{"day", limitScale * 24 * 60 * 60}, {"hour", limitScale * 60 * 60},
	{"min", limitScale * 60}, {"sec", limitScale},
}

// limitRateString is libxt_limit's print_rate, without the leading space.
func limitRateString(period uint32) string {
	if period == 0 {
		return "inf" // printf("%f", INFINITY)
	}
	i := 1
	for ; i < len(limitRates); i++ {
		m := limitRates[i].mult
		if period > m || m/period < m%period {
			break
		}
	}
	return fmt.Sprintf("%d/%s", limitRates[i-1].mult/period, limitRates[i-1].name)
}

func (l *Limit) Save(b *strings.Builder, c *Ctx) {
	b.WriteString(" --limit " + limitRateString(l.Avg))
	if l.Burst != limitDefaultBurst {
		fmt.Fprintf(b, " --limit-burst %d", l.Burst)
	}
}

func (l *Limit) Print(b *strings.Builder, c *Ctx, numeric bool) {
	fmt.Fprintf(b, " limit: avg %s burst %d", limitRateString(l.Avg), l.Burst)
}
