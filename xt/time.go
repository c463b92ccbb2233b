package xt

import (
	"fmt"
	"strings"
	"time"
)

// time: --datestart/--datestop YYYY[-MM[-DD[Thh[:mm[:ss]]]]]
// --timestart/--timestop hh:mm[:ss] [!] --monthdays L [!] --weekdays L
// --kerneltz (--localtz) --utc --contiguous  (libxt_time, struct
// xt_time_info).

var timeMatch = Def{
	Name: "time",
	Kind: KindMatch,
	Options: []Option{
		{Name: "datestart", Arg: true},
		{Name: "datestop", Arg: true},
		{Name: "timestart", Arg: true},
		{Name: "timestop", Arg: true},
		{Name: "contiguous"},
		{Name: "weekdays", Arg: true, Flags: OptInvert},
		{Name: "monthdays", Arg: true, Flags: OptInvert},
		{Name: "localtz", Excl: []string{"utc"}},
		{Name: "utc", Excl: []string{"localtz", "kerneltz"}},
		{Name: "kerneltz", Excl: []string{"utc"}},
	},
	New: func() Ext {
		return &Time{
			MonthdaysMatch: TimeAllMonthdays,
			WeekdaysMatch:  TimeAllWeekdays,
			DaytimeStart:   TimeMinDaytime,
			DaytimeStop:    TimeMaxDaytime,
			DateStart:      0,
			DateStop:       1<<31 - 1, // INT_MAX
		}
	},
}

// xt_time constants.
const (
	TimeLocalTZ      = 0x01 // XT_TIME_LOCAL_TZ
	TimeContiguous   = 0x02 // XT_TIME_CONTIGUOUS
	TimeAllMonthdays = 0xFFFFFFFE
	TimeAllWeekdays  = 0xFE
	TimeMinDaytime   = 0
	TimeMaxDaytime   = 24*60*60 - 1
)

// Time is struct xt_time_info.
type Time struct {
	DateStart, DateStop       uint32
	DaytimeStart, DaytimeStop uint32
	MonthdaysMatch            uint32
	WeekdaysMatch             uint8
	Flags                     uint8
}

var weekDays = [8]string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// cUint is strtoul(s, &e, base) stored in an unsigned int, with the rest.
func cUint(s string, base int) (uint32, string) {
	v, n, _ := StrtoulPrefix(s, base)
	return uint32(v), s[n:]
}

// timeParseDate is time_parse_date: the date in UTC, normalised as mktime
// does (month or day 0 fall back into the previous month/year).
func timeParseDate(c *Ctx, arg string) (uint32, error) {
	bad := Errorf("Invalid date \"%s\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]", arg)
	month, day := uint32(1), uint32(1)
	var hour, minute, second uint32
	year, e := cUint(arg, 10)
	if (e != "" && e[0] != '-') || year < 1970 || year > 2038 {
		return 0, bad
	}
	type comp struct {
		v     *uint32
		delim byte
		max   uint32
	}
	for _, c := range []comp{{&month, '-', 12}, {&day, 'T', 31}, {&hour, ':', 23}, {&minute, ':', 59}, {&second, 0, 59}} {
		if e == "" {
			break
		}
		*c.v, e = cUint(e[1:], 10)
		if (e != "" && (c.delim == 0 || e[0] != c.delim)) || *c.v > c.max {
			return 0, bad
		}
	}
	t := time.Date(int(year), time.Month(int32(month)), int(int32(day)), int(hour), int(minute), int(second), 0, time.UTC).Unix()
	if t < 0 {
		// A month or day 0 of 1970 falls before the epoch. The C prints
		// perror("mktime") first; errno is left at ENOENT by the earlier
		// failed extension lookups (every iptables-legacy 1.8.9 run here
		// prints the same line).
		c.Warnf("mktime: No such file or directory")
		return 0, OtherErrorf("mktime returned an error")
	}
	return uint32(t), nil
}

// timeParseMinutes is time_parse_minutes: seconds since midnight.
func timeParseMinutes(s string) (uint32, error) {
	bad := func(s string) error {
		return Errorf("invalid time \"%s\" specified, should be hh:mm[:ss] format and within the boundaries", s)
	}
	hour, e := cUint(s, 10)
	if e == "" || e[0] != ':' || hour > 23 {
		return 0, bad(s)
	}
	s = e[1:]
	minute, e := cUint(s, 10)
	if (e != "" && e[0] != ':') || minute > 59 {
		return 0, bad(s)
	}
	var second uint32
	if e != "" {
		s = e[1:]
		second, e = cUint(s, 10)
		if e != "" || second > 59 {
			return 0, bad(s)
		}
	}
	return 60*60*hour + 60*minute + second, nil
}

// strSegments is my_strseg over the whole argument: comma separated
// segments, each cut to max bytes (the C buffer size less one); it stops
// at the end of the string, so a trailing comma adds no segment.
func strSegments(arg string, max int) []string {
	var out []string
	for arg != "" {
		seg := arg
		if i := strings.IndexByte(arg, ','); i >= 0 {
			seg, arg = arg[:i], arg[i+1:]
		} else {
			arg = ""
		}
		if len(seg) > max {
			seg = seg[:max]
		}
		out = append(out, seg)
	}
	return out
}

func timeParseMonthdays(arg string) (uint32, error) {
	var ret uint32
	for _, day := range strSegments(arg, 2) {
		i, e := cUint(day, 0)
		if e != "" || i > 31 {
			return 0, Errorf("%s is not a valid day for --monthdays", day)
		}
		ret |= 1 << i
	}
	return ret, nil
}

func timeParseWeekdays(arg string) (uint32, error) {
	var ret uint32
	for _, day := range strSegments(arg, 3) {
		i, e := cUint(day, 0)
		if e == "" {
			if i == 0 {
				return 0, Errorf("No, the week does NOT begin with Sunday.")
			}
			ret |= 1 << (i & 31) // x86 shift count
			continue
		}
		valid := false
		for j := 1; j < len(weekDays); j++ {
			if len(day) >= 2 && day[:2] == weekDays[j][:2] {
				ret |= 1 << j
				valid = true
			}
		}
		if !valid {
			return 0, Errorf("%s is not a valid day specifier", day)
		}
	}
	return ret, nil
}

func (t *Time) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	var err error
	switch o.Name {
	case "datestart":
		t.DateStart, err = timeParseDate(c, arg)
	case "datestop":
		t.DateStop, err = timeParseDate(c, arg)
	case "timestart":
		t.DaytimeStart, err = timeParseMinutes(arg)
	case "timestop":
		t.DaytimeStop, err = timeParseMinutes(arg)
	case "contiguous":
		t.Flags |= TimeContiguous
	case "localtz", "kerneltz":
		if o.Name == "localtz" {
			c.Warnf("WARNING: --localtz is being replaced by --kerneltz, since \"local\" is ambiguous. Note the kernel timezone has caveats - see manpage for details.")
		}
		t.Flags |= TimeLocalTZ
	case "monthdays":
		var m uint32
		if m, err = timeParseMonthdays(arg); err == nil {
			t.MonthdaysMatch = m
			if invert {
				t.MonthdaysMatch ^= TimeAllMonthdays
			}
		}
	case "weekdays":
		var w uint32
		if w, err = timeParseWeekdays(arg); err == nil {
			t.WeekdaysMatch = uint8(w)
			if invert {
				t.WeekdaysMatch ^= TimeAllWeekdays
			}
		}
	}
	return err
}

func (t *Time) Final(c *Ctx) error {
	if t.Flags&TimeContiguous != 0 && t.DaytimeStart < t.DaytimeStop {
		return Errorf("time: --contiguous only makes sense when stoptime is smaller than starttime")
	}
	return nil
}

// timeWriteDate is time_print_date: nothing for 0 (the C also skips
// LONG_MAX, which a u32 never is, so the default stop date is printed).
func timeWriteDate(b *strings.Builder, date uint32, command string) {
	if date == 0 {
		return
	}
	t := time.Unix(int64(date), 0).UTC()
	if command != "" {
		fmt.Fprintf(b, " %s %04d-%02d-%02dT%02d:%02d:%02d", command,
			t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	} else {
		fmt.Fprintf(b, " %04d-%02d-%02d %02d:%02d:%02d",
			t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	}
}

func timeWriteMonthdays(b *strings.Builder, mask uint32, human bool) {
	b.WriteByte(' ')
	n := 0
	for i := 1; i <= 31; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		fmt.Fprintf(b, "%d", i)
		if human {
			switch i % 10 {
			case 1:
				b.WriteString("st")
			case 2:
				b.WriteString("nd")
			case 3:
				b.WriteString("rd")
			default:
				b.WriteString("th")
			}
		}
	}
}

func timeWriteWeekdays(b *strings.Builder, mask uint8) {
	b.WriteByte(' ')
	n := 0
	for i := 1; i <= 7; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(weekDays[i])
	}
}

func writeDaytime(b *strings.Builder, label string, v uint32) {
	fmt.Fprintf(b, " %s %02d:%02d:%02d", label, v/3600, v/60%60, v%60)
}

func (t *Time) Save(b *strings.Builder, c *Ctx) {
	if t.DaytimeStart != TimeMinDaytime || t.DaytimeStop != TimeMaxDaytime {
		writeDaytime(b, "--timestart", t.DaytimeStart)
		writeDaytime(b, "--timestop", t.DaytimeStop)
	}
	if t.MonthdaysMatch != TimeAllMonthdays {
		b.WriteString(" --monthdays")
		timeWriteMonthdays(b, t.MonthdaysMatch, false)
	}
	if t.WeekdaysMatch != TimeAllWeekdays {
		b.WriteString(" --weekdays")
		timeWriteWeekdays(b, t.WeekdaysMatch)
	}
	timeWriteDate(b, t.DateStart, "--datestart")
	timeWriteDate(b, t.DateStop, "--datestop")
	if t.Flags&TimeLocalTZ != 0 {
		b.WriteString(" --kerneltz")
	}
	if t.Flags&TimeContiguous != 0 {
		b.WriteString(" --contiguous")
	}
}

func (t *Time) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" TIME")
	if t.DaytimeStart != TimeMinDaytime || t.DaytimeStop != TimeMaxDaytime {
		writeDaytime(b, "from", t.DaytimeStart)
		writeDaytime(b, "to", t.DaytimeStop)
	}
	if t.WeekdaysMatch != TimeAllWeekdays {
		b.WriteString(" on")
		timeWriteWeekdays(b, t.WeekdaysMatch)
	}
	if t.MonthdaysMatch != TimeAllMonthdays {
		b.WriteString(" on")
		timeWriteMonthdays(b, t.MonthdaysMatch, true)
	}
	if t.DateStart != 0 {
		b.WriteString(" starting from")
		timeWriteDate(b, t.DateStart, "")
	}
	if t.DateStop != 1<<31-1 {
		b.WriteString(" until date")
		timeWriteDate(b, t.DateStop, "")
	}
	if t.Flags&TimeLocalTZ == 0 {
		b.WriteString(" UTC")
	}
	if t.Flags&TimeContiguous != 0 {
		b.WriteString(" contiguous")
	}
}

// StoreSave is Save without its losses, for the rule store: a stop date of
// 0 (1970-01-01T00:00:00), which Save skips, is written; month day 0 (from
// "--monthdays 0", never a real day) is written as 0; weekday bit 0 (from
// "--weekdays 32") as 32; an empty weekday set (weekday 8 and up fall off
// the 8-bit mask) as "--weekdays 8" and an empty month-day set as the
// inversion of all 31 days.
func (t *Time) StoreSave(b *strings.Builder, c *Ctx) {
	if t.DaytimeStart != TimeMinDaytime || t.DaytimeStop != TimeMaxDaytime {
		writeDaytime(b, "--timestart", t.DaytimeStart)
		writeDaytime(b, "--timestop", t.DaytimeStop)
	}
	switch m := t.MonthdaysMatch; {
	case m == TimeAllMonthdays:
	case m == 0:
		b.WriteString(" ! --monthdays")
		timeWriteMonthdays(b, TimeAllMonthdays, false)
	case m&1 != 0:
		b.WriteString(" --monthdays 0")
		for i := 1; i <= 31; i++ {
			if m&(1<<i) != 0 {
				fmt.Fprintf(b, ",%d", i)
			}
		}
	default:
		b.WriteString(" --monthdays")
		timeWriteMonthdays(b, m, false)
	}
	switch w := t.WeekdaysMatch; {
	case w == TimeAllWeekdays:
	case w == 0:
		b.WriteString(" --weekdays 8")
	case w == 1:
		b.WriteString(" --weekdays 32")
	default:
		b.WriteString(" --weekdays")
		timeWriteWeekdays(b, w)
		if w&1 != 0 {
			b.WriteString(",32")
		}
	}
	timeWriteDate(b, t.DateStart, "--datestart")
	if t.DateStop == 0 {
		b.WriteString(" --datestop 1970-01-01T00:00:00")
	} else {
		timeWriteDate(b, t.DateStop, "--datestop")
	}
	if t.Flags&TimeLocalTZ != 0 {
		b.WriteString(" --kerneltz")
	}
	if t.Flags&TimeContiguous != 0 {
		b.WriteString(" --contiguous")
	}
}

// The kernel's days_since_epoch table (xt_time.c): days from 1970-01-01 to
// January 1st of 2039, 2038, ... 1970. Years after 2039 are still found
// as 2039, as in the kernel.
var timeDaysSinceEpoch = func() (t [70]uint32) {
	d := uint32(0)
	for y := 1970; y <= 2039; y++ {
		t[2039-y] = d
		d += 365
		if timeIsLeap(uint32(y)) {
			d++
		}
	}
	return
}()

var (
	timeDaysSinceYear     = [12]uint32{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}
	timeDaysSinceLeapYear = [12]uint32{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335}
)

func timeIsLeap(y uint32) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// timeMonthday is localtime_3's month day for days-since-epoch dse (a
// u8 in the kernel).
func timeMonthday(dse uint32) uint8 {
	i, year := 0, uint32(2039)
	for timeDaysSinceEpoch[i] > dse {
		i++
		year--
	}
	w := dse - timeDaysSinceEpoch[i]
	tbl := &timeDaysSinceYear
	if timeIsLeap(year) {
		tbl = &timeDaysSinceLeapYear
	}
	j := len(tbl) - 1
	for j > 0 && tbl[j] > w {
		j--
	}
	return uint8(w - tbl[j] + 1)
}

// Match is time_mt. The clock is the packet's time p.Time, in whole
// seconds (the kernel reads ktime_get_real_seconds when the rule is
// evaluated). Without --kerneltz everything is UTC; with it the time is
// shifted by the kernel timezone, p.Env.TZMinutesWest minutes west of
// Greenwich (no Env: 0, UTC, the kernel's default when nothing set it).
// All of these must hold: datestart <= t <= datestop; the time of day in
// timestart..timestop (when start > stop the range wraps past midnight;
// with --contiguous a time after midnight, up to timestop, counts as the
// previous day for the day checks); the weekday (1 Monday .. 7 Sunday) is
// in the set; the month day is in the set. Weekday and month day come
// from the kernel's own arithmetic on unsigned days since the epoch (its
// calendar table ends in 2039, past any --datestop): with --contiguous, a
// time up to timestop on 1970-01-01 steps back before the epoch and gets
// the weekday of a wrapped day count, as in the kernel.
func (t *Time) Match(p *Pkt) bool {
	stamp := p.Time / 1e9
	if p.Time%1e9 < 0 {
		stamp-- // floor
	}
	if t.Flags&TimeLocalTZ != 0 && p.Env != nil {
		stamp -= 60 * int64(p.Env.TZMinutesWest)
	}
	if stamp < int64(t.DateStart) || stamp > int64(t.DateStop) {
		return false
	}
	packetTime := uint32(uint64(stamp) % 86400)
	if t.DaytimeStart < t.DaytimeStop {
		if packetTime < t.DaytimeStart || packetTime > t.DaytimeStop {
			return false
		}
	} else {
		if packetTime < t.DaytimeStart && packetTime > t.DaytimeStop {
			return false
		}
		if t.Flags&TimeContiguous != 0 && packetTime <= t.DaytimeStop {
			stamp -= 86400
		}
	}
	dse := uint32(uint64(stamp) / 86400)
	weekday := (4+dse-1)%7 + 1
	if uint32(t.WeekdaysMatch)&(1<<weekday) == 0 {
		return false
	}
	if t.MonthdaysMatch != TimeAllMonthdays {
		if t.MonthdaysMatch&(1<<(timeMonthday(dse)&31)) == 0 {
			return false
		}
	}
	return true
}
