package xt

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// hashlimit: -m hashlimit --hashlimit-upto|--hashlimit-above RATE
// [--hashlimit-burst N] [--hashlimit-mode srcip,srcport,dstip,dstport]
// [--hashlimit-srcmask L] [--hashlimit-dstmask L] --hashlimit-name NAME
// [--hashlimit-htable-size N] [--hashlimit-htable-max N]
// [--hashlimit-htable-gcinterval MS] [--hashlimit-htable-expire MS]
// [--hashlimit-rate-match] [--hashlimit-rate-interval S]
// (libxt_hashlimit revision 3, struct xt_hashlimit_mtinfo3). RATE is
// N[/second|/minute|/hour|/day] or N[k|m]b/s.

var hashlimitMatch = Def{
	Name:     "hashlimit",
	Kind:     KindMatch,
	Revision: 3,
	// "hashlimit" is the old name of --hashlimit-upto and shares its
	// option id: the once-only and exclusion checks are done by id here.
	Options: []Option{
		{Name: "hashlimit-upto", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "hashlimit-above", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "hashlimit", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "hashlimit-srcmask", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-dstmask", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-burst", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-htable-size", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-htable-max", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-htable-gcinterval", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-htable-expire", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-mode", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-name", Arg: true, Flags: OptMulti},
		{Name: "hashlimit-rate-match", Flags: OptMulti},
		{Name: "hashlimit-rate-interval", Arg: true, Flags: OptMulti},
	},
	New: func() Ext {
		return &Hashlimit{Burst: hlDefaultBurst, GCInterval: hlDefaultGC, SrcMask: 32, DstMask: 32}
	},
}

// Hashlimit mode bits (XT_HASHLIMIT_*).
const (
	HashlimitHashDIP   = 1 << 0
	HashlimitHashDPT   = 1 << 1
	HashlimitHashSIP   = 1 << 2
	HashlimitHashSPT   = 1 << 3
	HashlimitInvert    = 1 << 4
	HashlimitBytes     = 1 << 5
	HashlimitRateMatch = 1 << 6
)

const (
	hlScale         = 1000000 // XT_HASHLIMIT_SCALE_v2
	hlDefaultBurst  = 5
	hlBurstMax      = 1000000
	hlDefaultGC     = 1000
	hlByteExpire    = 15
	hlByteExpBurst  = 60
	hlByteShift     = 4
	hlNameLen       = 255 // NAME_MAX
	hlHZCPJ         = 137438953472000
	hlHZCPJBytes    = 4194304000
	hlModeHashBits  = HashlimitHashSIP | HashlimitHashSPT | HashlimitHashDIP | HashlimitHashDPT
	hlFlagUpto      = 1 << 0
	hlFlagAbove     = 1 << 1
	hlFlagBurst     = 1 << 7
	hlFlagExpire    = 1 << 11
	hlFlagRateMatch = 1 << 12
	hlFlagName      = 1 << 6
)

// Hashlimit is struct xt_hashlimit_mtinfo3 (name and hashlimit_cfg3).
type Hashlimit struct {
	Name       string
	Avg        uint64
	Burst      uint64
	Mode       uint32
	Size       uint32
	Max        uint32
	GCInterval uint32
	Expire     uint32
	Interval   uint32
	SrcMask    uint8
	DstMask    uint8

	xflags uint32
	mult   uint32 // hashlimit_mt_udata

	// tbl is the kernel's info->hinfo: the named table the rule is bound
	// to (see Bind).
	tbl atomic.Pointer[hlHTable]
}

// option ids of the C table (O_*).
var hlIDs = map[string]uint{
	"hashlimit-upto": 0, "hashlimit-above": 1, "hashlimit": 0, "hashlimit-mode": 3,
	"hashlimit-srcmask": 4, "hashlimit-dstmask": 5, "hashlimit-name": 6, "hashlimit-burst": 7,
	"hashlimit-htable-size": 8, "hashlimit-htable-max": 9, "hashlimit-htable-gcinterval": 10,
	"hashlimit-htable-expire": 11, "hashlimit-rate-match": 12, "hashlimit-rate-interval": 13,
}

var hlTable = []x6Entry{
	0:  {name: "hashlimit-upto", excl: hlFlagAbove},
	1:  {name: "hashlimit-above", excl: hlFlagUpto},
	3:  {name: "hashlimit-mode"},
	4:  {name: "hashlimit-srcmask"},
	5:  {name: "hashlimit-dstmask"},
	6:  {name: "hashlimit-name"},
	7:  {name: "hashlimit-burst"},
	8:  {name: "hashlimit-htable-size"},
	9:  {name: "hashlimit-htable-max"},
	10: {name: "hashlimit-htable-gcinterval"},
	11: {name: "hashlimit-htable-expire"},
	12: {name: "hashlimit-rate-match"},
	13: {name: "hashlimit-rate-interval"},
}

func hlCostToBytes(cost uint64) uint64 {
	r := uint64(0xFFFFFFFF)
	if cost != 0 {
		r = 0xFFFFFFFF / cost
	}
	return (r - 1) << hlByteShift
}

func hlBytesToCost(bytes uint64) uint64 {
	r := uint32(bytes >> hlByteShift)
	if r+1 == 0 {
		return 0
	}
	return 0xFFFFFFFF / uint64(r+1)
}

func hlFactor(c byte) uint64 {
	switch c {
	case 'm':
		return 1024 * 1024
	case 'k':
		return 1024
	}
	return 1
}

func hlBurstError() error {
	return Errorf("bad value for option \"--hashlimit-burst\", or out of range (1-%d).", hlBurstMax)
}

// parseBurst is parse_burst (revision 2 and up).
func (h *Hashlimit) parseBurst(arg string) error {
	v, rest, ok := XtablesStrtoul(arg, 1, 0)
	if !ok || (rest == "" && v > hlBurstMax) {
		return hlBurstError()
	}
	var c byte
	if rest != "" {
		c = rest[0]
	}
	h.Burst = v * hlFactor(c)
	return nil
}

// parseBytes is parse_bytes: "N[k|m]b/s".
func (h *Hashlimit) parseBytes(rate string) (bool, error) {
	i := strings.Index(rate, "b/s")
	if i <= 0 {
		return false, nil
	}
	r := uint64(cStrtoll(rate))
	if r == 0 {
		return false, nil
	}
	cost := hlBytesToCost(r * hlFactor(rate[i-1]))
	if cost == 0 {
		return false, Errorf("Rate too high \"%s\"", rate)
	}
	h.mult = hlByteExpire
	h.Avg = cost
	return true, nil
}

// parseRate is parse_rate (revision 2 and up).
func (h *Hashlimit) parseRate(rate string) (bool, error) {
	h.mult = 1
	mult, ok := rateUnit(rate)
	if !ok {
		return false, nil
	}
	h.mult = uint32(mult)
	r := uint64(cStrtoll(rate))
	if r == 0 {
		return false, nil
	}
	v := hlScale * mult / r
	if v == 0 {
		return false, Errorf("Rate too fast \"%s\"", rate)
	}
	h.Avg = v
	return true, nil
}

func (h *Hashlimit) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	id := hlIDs[o.Name]
	if h.xflags&(1<<id) != 0 {
		return Errorf("hashlimit: option \"--%s\" can only be used once.\n", o.Name)
	}
	badValue := func(opt string) error {
		return Errorf("hashlimit: Bad value for \"%s\" option: \"%s\"", opt, arg)
	}
	switch id {
	case 7:
		if err := h.parseBurst(arg); err != nil {
			return err
		}
	case 0, 1:
		opt := "--hashlimit-upto"
		if id == 1 {
			opt = "--hashlimit-above"
		}
		if invert == (id == 0) {
			h.Mode |= HashlimitInvert
		}
		ok, err := h.parseBytes(arg)
		if err != nil {
			return err
		}
		if ok {
			h.Mode |= HashlimitBytes
		} else if ok, err = h.parseRate(arg); err != nil {
			return err
		} else if !ok {
			return badValue(opt)
		}
	case 3:
		for _, tok := range strings.FieldsFunc(arg, func(r rune) bool { return r == ',' || r == '|' }) {
			switch tok {
			case "dstip":
				h.Mode |= HashlimitHashDIP
			case "srcip":
				h.Mode |= HashlimitHashSIP
			case "srcport":
				h.Mode |= HashlimitHashSPT
			case "dstport":
				h.Mode |= HashlimitHashDPT
			default:
				return badValue("--hashlimit-mode")
			}
		}
	case 4, 5:
		l, err := parsePlen("hashlimit", o.Name, arg)
		if err != nil {
			return err
		}
		if id == 4 {
			h.SrcMask = l
		} else {
			h.DstMask = l
		}
	case 6:
		if len(arg) < 1 {
			return Errorf("Argument must have a minimum length of %d characters\n", 1)
		}
		h.Name = x6String(arg, hlNameLen)
	case 8, 9, 10, 11:
		v, err := ParseUintOpt("hashlimit", o.Name, arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		switch id {
		case 8:
			h.Size = uint32(v)
		case 9:
			h.Max = uint32(v)
		case 10:
			h.GCInterval = uint32(v)
		case 11:
			h.Expire = uint32(v)
		}
	case 12:
		h.Mode |= HashlimitRateMatch
	case 13:
		r := int32(cStrtoll(arg)) // atoi
		if r <= 0 {
			return badValue("--hashlimit-rate-interval")
		}
		h.Interval = uint32(r)
	}
	h.xflags |= 1 << id
	return nil
}

// Final is hashlimit_mt_check, then the generic option checks.
func (h *Hashlimit) Final(c *Ctx) error {
	if h.xflags&(hlFlagUpto|hlFlagAbove) == 0 {
		return Errorf("You have to specify --hashlimit")
	}
	if h.xflags&hlFlagExpire == 0 {
		h.Expire = h.mult * 1000
	}
	if h.Mode&HashlimitBytes != 0 {
		var burst uint32
		if h.xflags&hlFlagBurst != 0 {
			cb := hlCostToBytes(h.Avg)
			if h.Burst < cb {
				return Errorf("burst cannot be smaller than %db", cb)
			}
			burst = uint32(uint64(uint32(h.Burst)) / cb)
			if h.Burst%cb != 0 {
				burst++
			}
			if h.xflags&hlFlagExpire == 0 {
				h.Expire = hlByteExpBurst * 1000
			}
		}
		h.Burst = uint64(burst)
	} else if h.Burst > hlBurstMax {
		return hlBurstError()
	}
	if h.xflags&hlFlagRateMatch != 0 {
		if h.Mode&HashlimitBytes == 0 && h.mult != 0 {
			h.Avg /= uint64(h.mult)
		}
		if h.Interval == 0 {
			if h.Mode&HashlimitBytes != 0 {
				h.Interval = 1
			} else {
				h.Interval = h.mult
			}
		}
	}
	return x6Fcheck("hashlimit", hlTable, hlFlagName, h.xflags)
}

// Check is the kernel's hashlimit_mt_check_common (revision 3).
func (h *Hashlimit) Check(c *Ctx) error {
	if err := checkProcName(h.Name); err != nil {
		return err
	}
	if h.GCInterval == 0 || h.Expire == 0 {
		return EINVAL("xt_hashlimit: gcinterval and expire must not be 0")
	}
	if h.SrcMask > 32 || h.DstMask > 32 {
		return EINVAL("xt_hashlimit: srcmask/dstmask above 32")
	}
	// ERANGE: the kernel logs the reason, but iptables prints the dmesg
	// hint only for EINVAL (the rules layer adds it whenever Dmesg is set).
	erange := func(format string, a ...any) error {
		return &KernelError{Errno: "Numerical result out of range"}
	}
	switch {
	case h.Mode&HashlimitRateMatch != 0:
		if h.Avg == 0 || h.Avg > 0xFFFFFFFF {
			return erange("xt_hashlimit: invalid rate")
		}
		if h.Interval == 0 {
			return EINVAL("xt_hashlimit: invalid interval")
		}
	case h.Mode&HashlimitBytes != 0:
		if (h.Avg*hlHZCPJBytes)>>32 == 0 {
			return EINVAL("xt_hashlimit: overflow, rate too high: %d", h.Avg)
		}
	default:
		u2c := func(u uint64) uint64 { return u * (hlHZCPJ / hlScale) }
		if h.Burst == 0 || u2c(h.Avg*h.Burst) < u2c(h.Avg) {
			return erange("xt_hashlimit: overflow, try lower: %d/%d", h.Avg, h.Burst)
		}
	}
	return nil
}

var hlRates = []struct {
	name string
	mult uint64
}{
	{"day", hlScale * 24 * 60 * 60}, {"hour", hlScale * 60 * 60},
	{"min", hlScale * 60}, {"sec", hlScale},
}

// hlPrintRate is print_rate (revision 3); it returns the quantum in ms.
func hlPrintRate(b *strings.Builder, period uint64) uint32 {
	if period == 0 {
		b.WriteString(" inf")
		return 0
	}
	i := 1
	for ; i < len(hlRates); i++ {
		m := hlRates[i].mult
		if period > m || m/period < m%period {
			break
		}
	}
	fmt.Fprintf(b, " %d/%s", hlRates[i-1].mult/period, hlRates[i-1].name)
	return uint32(hlRates[i-1].mult / hlScale * 1000)
}

var hlUnits = []struct {
	name   string
	thresh uint32
}{{"m", 1024 * 1024}, {"k", 1024}, {"", 1}}

// hlPrintBytes is print_bytes; it returns the quantum in ms.
func hlPrintBytes(b *strings.Builder, avg, burst uint64, prefix string) uint32 {
	r := hlCostToBytes(avg)
	i := 0
	for ; i < len(hlUnits)-1; i++ {
		t := hlUnits[i].thresh
		// ~(thresh - 1) is a 32-bit mask in the C code.
		if r >= uint64(t) && hlBytesToCost(r&uint64(^(t-1))) == avg {
			break
		}
	}
	fmt.Fprintf(b, " %d%sb/s", r/uint64(hlUnits[i].thresh), hlUnits[i].name)
	if burst == 0 {
		return hlByteExpire * 1000
	}
	r *= burst
	b.WriteString(" " + prefix)
	for i = 0; i < len(hlUnits)-1; i++ {
		if r >= uint64(hlUnits[i].thresh) {
			break
		}
	}
	fmt.Fprintf(b, "burst %d%sb", r/uint64(hlUnits[i].thresh), hlUnits[i].name)
	return hlByteExpBurst * 1000
}

func hlModeString(mode uint32, sep byte) string {
	var parts []string
	if mode&HashlimitHashSIP != 0 {
		parts = append(parts, "srcip")
	}
	if mode&HashlimitHashSPT != 0 {
		parts = append(parts, "srcport")
	}
	if mode&HashlimitHashDIP != 0 {
		parts = append(parts, "dstip")
	}
	if mode&HashlimitHashDPT != 0 {
		parts = append(parts, "dstport")
	}
	return " " + strings.Join(parts, string(sep))
}

func (h *Hashlimit) Save(b *strings.Builder, c *Ctx) {
	if h.Mode&HashlimitInvert != 0 {
		b.WriteString(" --hashlimit-above")
	} else {
		b.WriteString(" --hashlimit-upto")
	}
	var quantum uint32
	if h.Mode&HashlimitBytes != 0 {
		quantum = hlPrintBytes(b, h.Avg, h.Burst, "--hashlimit-")
	} else {
		quantum = hlPrintRate(b, h.Avg)
		fmt.Fprintf(b, " --hashlimit-burst %d", h.Burst)
	}
	if h.Mode&hlModeHashBits != 0 {
		b.WriteString(" --hashlimit-mode" + hlModeString(h.Mode, ','))
	}
	b.WriteString(" --hashlimit-name " + h.Name)
	if h.Size != 0 {
		fmt.Fprintf(b, " --hashlimit-htable-size %d", h.Size)
	}
	if h.Max != 0 {
		fmt.Fprintf(b, " --hashlimit-htable-max %d", h.Max)
	}
	if h.GCInterval != hlDefaultGC {
		fmt.Fprintf(b, " --hashlimit-htable-gcinterval %d", h.GCInterval)
	}
	if h.Expire != quantum {
		fmt.Fprintf(b, " --hashlimit-htable-expire %d", h.Expire)
	}
	if h.SrcMask != 32 {
		fmt.Fprintf(b, " --hashlimit-srcmask %d", h.SrcMask)
	}
	if h.DstMask != 32 {
		fmt.Fprintf(b, " --hashlimit-dstmask %d", h.DstMask)
	}
	if h.Mode&HashlimitRateMatch != 0 {
		b.WriteString(" --hashlimit-rate-match")
		if h.Interval != 1 {
			fmt.Fprintf(b, " --hashlimit-rate-interval %d", h.Interval)
		}
	}
}

func (h *Hashlimit) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if h.Mode&HashlimitInvert != 0 {
		b.WriteString(" limit: above")
	} else {
		b.WriteString(" limit: up to")
	}
	var quantum uint32
	if h.Mode&HashlimitBytes != 0 {
		quantum = hlPrintBytes(b, h.Avg, h.Burst, "")
	} else {
		period := h.Avg
		if h.Interval != 0 {
			period *= uint64(h.Interval)
		}
		quantum = hlPrintRate(b, period)
		fmt.Fprintf(b, " burst %d", h.Burst)
	}
	if h.Mode&hlModeHashBits != 0 {
		b.WriteString(" mode" + hlModeString(h.Mode, '-'))
	}
	if h.Size != 0 {
		fmt.Fprintf(b, " htable-size %d", h.Size)
	}
	if h.Max != 0 {
		fmt.Fprintf(b, " htable-max %d", h.Max)
	}
	if h.GCInterval != hlDefaultGC {
		fmt.Fprintf(b, " htable-gcinterval %d", h.GCInterval)
	}
	if h.Expire != quantum {
		fmt.Fprintf(b, " htable-expire %d", h.Expire)
	}
	if h.SrcMask != 32 {
		fmt.Fprintf(b, " srcmask %d", h.SrcMask)
	}
	if h.DstMask != 32 {
		fmt.Fprintf(b, " dstmask %d", h.DstMask)
	}
	if h.Mode&HashlimitRateMatch != 0 {
		b.WriteString(" rate-match")
		if h.Interval != 1 {
			fmt.Fprintf(b, " rate-interval %d", h.Interval)
		}
	}
}

// Packet logic (xt_hashlimit.c, revision 3, IPv4).
//
// Tables are shared by name, as in the kernel: every rule with the same
// --hashlimit-name (in any iptables table) uses one table, and the table
// keeps the configuration of the rule that created it (which fields are
// hashed, the masks, the rate and burst a new bucket starts with, size,
// max, expire and gcinterval); a later rule's own settings only choose
// between packet and byte cost and the above/upto inversion. The kernel
// creates a table in the checkentry of the first rule naming it and
// destroys it with the last such rule; nfgo keeps its tables in a
// package-level registry keyed by name (the registry owns them; rules
// hold a pointer from Bind on), created by the first rule bound to the
// name and kept until ResetHashlimitTables (or ResetStatefulTables),
// which tests and replays call to start from an empty host.

// HashlimitDefaultSize is the number of hash buckets of a table created
// without --hashlimit-htable-size: the kernel derives it from the RAM
// (RAM/128 KiB, at least 16) but takes 8192 on hosts with more than 1 GiB,
// as this one has. A table's default max is 8 times its size.
var HashlimitDefaultSize uint32 = 8192

const hlMaxSize = 1048576 // HASHLIMIT_MAX_SIZE

// hlKey is struct dsthash_dst for IPv4: the hashed fields, others zero.
type hlKey struct {
	src, dst         uint32
	srcPort, dstPort uint16
}

// hlEntry is struct dsthash_ent: one bucket of the token bucket filter
// (or, with --hashlimit-rate-match, of the rate meter).
type hlEntry struct {
	expires uint64
	prev    uint64
	// token bucket
	credit, creditCap, cost uint64
	// rate match
	interval, prevWindow uint32
	currentRate, rate    uint64
	burst                int64
}

// hlHTable is struct xt_hashlimit_htable.
type hlHTable struct {
	mu sync.Mutex

	name               string
	mode               uint32
	avg, burst         uint64
	size, max          uint32
	gcInterval, expire uint32
	interval           uint32
	srcMask, dstMask   uint8
	ratematch          bool
	expireJ, gcJ       uint64 // expire and gc interval in jiffies
	cpj, cpjBytes      uint64 // CREDITS_PER_JIFFY and _BYTES
	entries            map[hlKey]*hlEntry
	free               []*hlEntry
	started            bool   // has seen a packet (the gc clock runs)
	nextGC, last       uint64 // jiffies
	hzcpjDivScale      uint64
	hzcpjBytes         uint64 // CREDITS_PER_JIFFY_BYTES * HZ
	scaleDivHZCPJ      uint64
}

var hlRegistry struct {
	mu     sync.Mutex
	tables map[string]*hlHTable
}

// ResetHashlimitTables forgets every named hashlimit table.
func ResetHashlimitTables() {
	hlRegistry.mu.Lock()
	hlRegistry.tables = nil
	hlRegistry.mu.Unlock()
}

// HashlimitTableLen reports how many buckets the named table holds
// (false if there is no such table).
func HashlimitTableLen(name string) (int, bool) {
	hlRegistry.mu.Lock()
	t := hlRegistry.tables[name]
	hlRegistry.mu.Unlock()
	if t == nil {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries), true
}

// Bind is the table part of hashlimit_mt_check_common: find the table
// named by the rule, or create it with the rule's configuration. A rule
// whose --hashlimit-rate-match differs from the table's is refused
// (EINVAL), as the kernel refuses it.
func (h *Hashlimit) Bind() error {
	if h.tbl.Load() != nil {
		return nil
	}
	hlRegistry.mu.Lock()
	defer hlRegistry.mu.Unlock()
	t := hlRegistry.tables[h.Name]
	if t == nil {
		t = newHLTable(h)
		if hlRegistry.tables == nil {
			hlRegistry.tables = map[string]*hlHTable{}
		}
		hlRegistry.tables[h.Name] = t
	} else if (h.Mode&HashlimitRateMatch != 0) != t.ratematch {
		return EINVAL("")
	}
	h.tbl.Store(t)
	return nil
}

// newHLTable is htable_create (with the size and max clamping of
// hashlimit_mt_check_common).
func newHLTable(h *Hashlimit) *hlHTable {
	t := &hlHTable{
		name: h.Name, mode: h.Mode, avg: h.Avg, burst: h.Burst,
		size: h.Size, max: h.Max, gcInterval: h.GCInterval, expire: h.Expire,
		interval: h.Interval, srcMask: h.SrcMask, dstMask: h.DstMask,
		ratematch: h.Mode&HashlimitRateMatch != 0,
		entries:   map[hlKey]*hlEntry{},
	}
	if t.size > hlMaxSize {
		t.size = hlMaxSize
	}
	if t.max > hlMaxSize {
		t.max = hlMaxSize
	}
	if t.size == 0 {
		t.size = HashlimitDefaultSize
	}
	if t.max == 0 {
		t.max = 8 * t.size
	} else if t.max < t.size {
		t.max = t.size
	}
	t.expireJ = msecsToJiffies(t.expire)
	t.gcJ = msecsToJiffies(t.gcInterval)
	// CREDITS_PER_JIFFY: 2^64-1 / (HZ*60*60*24), power of two below
	// (2^39 at HZ=250); CREDITS_PER_JIFFY_BYTES: 2^32-1 / HZ, power of
	// two below (2^24 at HZ=250).
	t.cpj = pow2Below(^uint64(0) / (HZ * 60 * 60 * 24))
	t.cpjBytes = pow2Below(0xFFFFFFFF / HZ)
	t.hzcpjBytes = t.cpjBytes * HZ
	if hlScale >= HZ*t.cpj {
		t.scaleDivHZCPJ = hlScale / (HZ * t.cpj)
	} else {
		t.hzcpjDivScale = HZ * t.cpj / hlScale
	}
	return t
}

// user2credits (revision 2 and up).
func (t *hlHTable) user2credits(user uint64) uint64 {
	if t.scaleDivHZCPJ != 0 {
		return user / t.scaleDivHZCPJ
	}
	return user * t.hzcpjDivScale
}

// user2creditsByte: (user * HZ * CREDITS_PER_JIFFY_BYTES) >> 32, 32 bits.
func (t *hlHTable) user2creditsByte(user uint32) uint64 {
	return uint64(uint32(uint64(user) * t.hzcpjBytes >> 32))
}

// rateinfoInit is rateinfo_init: a new bucket starts full (or, for the
// rate meter, with an empty window).
func (t *hlHTable) rateinfoInit(e *hlEntry, now uint64) {
	e.prev = now
	switch {
	case t.mode&HashlimitRateMatch != 0:
		e.prevWindow, e.currentRate = 0, 0
		if t.mode&HashlimitBytes != 0 {
			// user2rate_bytes((u32)avg)
			r := uint64(0xFFFFFFFF)
			if a := uint32(t.avg); a != 0 {
				r = uint64(0xFFFFFFFF / a)
			}
			e.rate = (r - 1) << hlByteShift
			if t.burst != 0 {
				e.burst = int64(t.burst * e.rate)
			} else {
				e.burst = int64(e.rate)
			}
		} else {
			e.rate = 0 // user2rate: the kernel logs "invalid rate" for 0
			if t.avg != 0 {
				e.rate = hlScale / t.avg
			}
			e.burst = int64(t.burst + e.rate)
		}
		e.interval = t.interval
	case t.mode&HashlimitBytes != 0:
		e.credit = t.hzcpjBytes
		e.cost = t.user2creditsByte(uint32(t.avg))
		e.creditCap = t.burst
	default:
		e.credit = t.user2credits(t.avg * t.burst)
		e.cost = t.user2credits(t.avg)
		e.creditCap = e.credit
	}
}

// rateinfoRecalc is rateinfo_recalc (revision 3).
func (t *hlHTable) rateinfoRecalc(e *hlEntry, now uint64) {
	delta := now - e.prev
	if delta == 0 {
		return
	}
	if t.mode&HashlimitRateMatch != 0 {
		// interval * HZ is computed in 32 bits by the kernel.
		interval := uint64(e.interval * uint32(HZ))
		if delta < interval {
			return
		}
		e.prev = now
		if e.currentRate*interval > delta*e.rate {
			e.prevWindow = 1
		} else {
			e.prevWindow = 0
		}
		e.currentRate = 0
		return
	}
	e.prev = now
	var limit uint64
	if t.mode&HashlimitBytes != 0 {
		old := e.credit
		e.credit += t.cpjBytes * delta
		limit = t.hzcpjBytes
		if old >= e.credit { // overflow
			e.credit = limit
			return
		}
	} else {
		e.credit += delta * t.cpj
		limit = e.creditCap
	}
	if e.credit > limit {
		e.credit = limit
	}
}

// byteCost is hashlimit_byte_cost: a packet of len bytes costs its number
// of 16-byte chunks (plus one) times the per-chunk cost; an empty bucket
// is refilled while the burst counter (credit_cap) lasts.
func (t *hlHTable) byteCost(length uint32, e *hlEntry) uint64 {
	c := uint64(length>>hlByteShift+1) * e.cost
	if c > t.hzcpjBytes {
		c = t.hzcpjBytes
	}
	if e.credit < c && e.creditCap != 0 {
		e.creditCap--
		e.credit = t.hzcpjBytes
	}
	return uint64(uint32(c))
}

// gc is htable_gc on the packet clock. The kernel runs it every
// gcinterval ms from the table's creation; nfgo starts that clock at the
// table's first packet and, when a packet finds the clock past one or
// more runs, does the last of them (the earlier ones saw no other packet
// to this table, so the last one frees whatever they would have). The
// kernel's work is deferrable, so its real runs can come a little later.
func (t *hlHTable) gc(now uint64) {
	if !t.started {
		t.started = true
		t.nextGC = now + t.gcJ
		return
	}
	if now < t.nextGC {
		return
	}
	run := t.nextGC + (now-t.nextGC)/t.gcJ*t.gcJ
	for k, e := range t.entries {
		if timeAfterEq(run, e.expires) {
			delete(t.entries, k)
			t.free = append(t.free, e)
		}
	}
	t.nextGC = run + t.gcJ
}

// maskl is the kernel's maskl: the top l bits of a.
func maskl(a uint32, l uint8) uint32 {
	if l == 0 {
		return 0
	}
	return a & (0xFFFFFFFF << (32 - l))
}

// key is hashlimit_init_dst for IPv4. The ports are read at the transport
// offset whatever the fragment offset (the kernel does not look at it):
// for a non-first fragment they are payload bytes. Protocols without
// ports hash port 0; a packet too short for the ports is dropped.
func (t *hlHTable) key(p *Pkt) (hlKey, bool) {
	var k hlKey
	if t.mode&HashlimitHashDIP != 0 {
		k.dst = maskl(p.Dst, t.dstMask)
	}
	if t.mode&HashlimitHashSIP != 0 {
		k.src = maskl(p.Src, t.srcMask)
	}
	if t.mode&(HashlimitHashDPT|HashlimitHashSPT) == 0 {
		return k, true
	}
	off := -1
	switch p.Proto {
	case 6, 17, 33, 50, 132, 136: // TCP, UDP, DCCP, ESP, SCTP, UDPLITE
		off = 0
	case 51: // AH: the SPI
		off = 4
	}
	var sp, dp uint16
	if off >= 0 {
		o := p.IHL + off
		if o+4 > len(p.B) {
			return k, false
		}
		sp = uint16(p.B[o])<<8 | uint16(p.B[o+1])
		dp = uint16(p.B[o+2])<<8 | uint16(p.B[o+3])
	}
	if t.mode&HashlimitHashSPT != 0 {
		k.srcPort = sp
	}
	if t.mode&HashlimitHashDPT != 0 {
		k.dstPort = dp
	}
	return k, true
}

// Match is hashlimit_mt_common (revision 3). The bucket of the packet's
// hashed fields is found (or made, starting full, when the table has
// room: a table holding max buckets drops the packet, as the kernel
// does), refilled for the time since its last packet, and charged: one
// packet, or the packet's length in byte mode. Under the limit matches
// with --hashlimit-upto, over it with --hashlimit-above. With
// --hashlimit-rate-match the bucket is a meter instead: packets (bytes)
// are counted per rate-interval, and the rule matches while the previous
// interval stayed within the rate and this one within rate + burst.
//
// A packet hitting an existing bucket does not allocate; making a bucket
// allocates (the map may grow) unless the garbage collector freed one
// earlier. Time is p.Time only; the clock never goes backwards (an
// earlier packet is taken as arriving at the latest jiffy seen).
func (h *Hashlimit) Match(p *Pkt) bool {
	t := h.tbl.Load()
	if t == nil {
		if err := h.Bind(); err != nil {
			return false // the kernel would have refused the rule
		}
		t = h.tbl.Load()
	}
	k, ok := t.key(p)
	if !ok {
		p.HotDrop = true
		return false
	}
	now := Jiffies(p.Time)
	t.mu.Lock()
	if now < t.last {
		now = t.last
	}
	t.last = now
	t.gc(now)
	e := t.entries[k]
	if e == nil {
		if uint32(len(t.entries)) >= t.max {
			t.mu.Unlock()
			p.HotDrop = true
			return false
		}
		if n := len(t.free); n > 0 {
			e = t.free[n-1]
			t.free = t.free[:n-1]
			*e = hlEntry{}
		} else {
			e = &hlEntry{}
		}
		t.entries[k] = e
		e.expires = now + t.expireJ
		t.rateinfoInit(e, now)
	} else {
		e.expires = now + t.expireJ
		t.rateinfoRecalc(e, now)
	}
	under := false
	if h.Mode&HashlimitRateMatch != 0 {
		cost := uint64(1)
		if h.Mode&HashlimitBytes != 0 {
			cost = uint64(len(p.B))
		}
		e.currentRate += cost
		// u64 against s64: the comparison is unsigned, as in C.
		under = e.prevWindow == 0 && e.currentRate <= uint64(e.burst)
	} else {
		cost := e.cost
		if h.Mode&HashlimitBytes != 0 {
			cost = t.byteCost(uint32(len(p.B)), e)
		}
		if e.credit >= cost {
			e.credit -= cost
			under = true
		}
	}
	t.mu.Unlock()
	return under != (h.Mode&HashlimitInvert != 0)
}
