package xt

import (
	"fmt"
	"strings"
)

// recent: -m recent [!] --set|--rcheck|--update|--remove [--seconds N]
// [--reap] [--hitcount N] [--rttl] [--name NAME] [--rsource|--rdest]
// [--mask MASK] (libxt_recent revision 1, struct xt_recent_mtinfo_v1).

var recentMatch = Def{
	Name:     "recent",
	Kind:     KindMatch,
	Revision: 1,
	// Option order is the C option ids (the x6 checks walk them in order);
	// exclusions and requirements are checked in Final, after the
	// extension's own check as libxtables does.
	Options: []Option{
		{Name: "set", Flags: OptInvert},
		{Name: "rcheck", Flags: OptInvert},
		{Name: "update", Flags: OptInvert},
		{Name: "remove", Flags: OptInvert},
		{Name: "seconds", Arg: true},
		{Name: "reap"},
		{Name: "hitcount", Arg: true},
		{Name: "rttl"},
		{Name: "name", Arg: true},
		{Name: "rsource"},
		{Name: "rdest"},
		{Name: "mask", Arg: true},
	},
	New: func() Ext { return &Recent{Name: "DEFAULT", Side: RecentSource, Mask: 0xFFFFFFFF} },
}

// Recent check_set bits and sides (XT_RECENT_*).
const (
	RecentCheck  = 1 << 0
	RecentSet    = 1 << 1
	RecentUpdate = 1 << 2
	RecentRemove = 1 << 3
	RecentTTL    = 1 << 4
	RecentReap   = 1 << 5

	RecentSource = 0
	RecentDest   = 1

	recentNameLen   = 200   // XT_RECENT_NAME_LEN
	recentMaxStamps = 65536 // the kernel's XT_RECENT_MAX_NSTAMPS
)

// Recent is struct xt_recent_mtinfo_v1.
type Recent struct {
	Seconds  uint32
	HitCount uint32
	CheckSet uint8
	Invert   bool
	Name     string
	Side     uint8
	Mask     IPv4

	xflags uint32
}

// x6Entry is one row of a C x6 option table for the generic final checks:
// the ids (bit numbers) an option excludes and requires.
type x6Entry struct {
	name       string
	excl, also uint32
}

// x6Fcheck is xtables_options_fcheck over a table indexed by option id,
// for extensions whose own final check must run first.
func x6Fcheck(ext string, table []x6Entry, mand uint32, xflags uint32) error {
	for id, e := range table {
		if e.name == "" {
			continue
		}
		if mand&(1<<uint(id)) != 0 && xflags&(1<<uint(id)) == 0 {
			return Errorf("%s: option \"--%s\" must be specified\n", ext, e.name)
		}
		if xflags&(1<<uint(id)) == 0 {
			continue
		}
		for i, other := range table {
			if i == id || other.name == "" {
				continue
			}
			if e.also&(1<<uint(i)) != 0 && xflags&(1<<uint(i)) == 0 {
				return Errorf("%s: option \"--%s\" also requires \"--%s\".\n", ext, e.name, other.name)
			}
			if e.excl&(1<<uint(i)) != 0 && xflags&(1<<uint(i)) != 0 {
				return Errorf("%s: option \"--%s\" cannot be used together with \"--%s\".\n", ext, e.name, other.name)
			}
		}
	}
	return nil
}

// x6String is xtopt_parse_string's length handling for a char[size] field.
func x6String(arg string, size int) string {
	if len(arg) >= size {
		return arg[:size-1]
	}
	return arg
}

const recentAnyOp = 1<<0 | 1<<1 | 1<<2 | 1<<3

var recentTable = []x6Entry{
	{name: "set", excl: recentAnyOp},
	{name: "rcheck", excl: recentAnyOp},
	{name: "update", excl: recentAnyOp},
	{name: "remove", excl: recentAnyOp},
	{name: "seconds"},
	{name: "reap", also: 1 << 4},
	{name: "hitcount"},
	{name: "rttl", excl: 1<<0 | 1<<3},
	{name: "name"},
	{name: "rsource"},
	{name: "rdest"},
	{name: "mask"},
}

func (r *Recent) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	id := 0
	for i, e := range recentTable {
		if e.name == o.Name {
			id = i
		}
	}
	switch o.Name {
	case "set":
		r.CheckSet |= RecentSet
	case "rcheck":
		r.CheckSet |= RecentCheck
	case "update":
		r.CheckSet |= RecentUpdate
	case "remove":
		r.CheckSet |= RecentRemove
	case "seconds":
		v, err := ParseUintOpt("recent", o.Name, arg, 1, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		r.Seconds = uint32(v)
	case "reap":
		r.CheckSet |= RecentReap
	case "hitcount":
		v, err := ParseUintOpt("recent", o.Name, arg, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		r.HitCount = uint32(v)
	case "rttl":
		r.CheckSet |= RecentTTL
	case "name":
		r.Name = x6String(arg, recentNameLen)
	case "rsource":
		r.Side = RecentSource
	case "rdest":
		r.Side = RecentDest
	case "mask":
		a, err := parseHostGAI(arg)
		if err != nil {
			return err
		}
		r.Mask = a
	}
	if invert {
		r.Invert = true
	}
	r.xflags |= 1 << uint(id)
	return nil
}

func (r *Recent) Final(c *Ctx) error {
	if r.xflags&recentAnyOp == 0 {
		return Errorf("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'")
	}
	return x6Fcheck("recent", recentTable, 0, r.xflags)
}

// Check is xt_recent's recent_mt_check.
func (r *Recent) Check(c *Ctx) error {
	if r.CheckSet&(RecentSet|RecentRemove) != 0 &&
		(r.Seconds != 0 || r.HitCount != 0 || r.CheckSet&(RecentTTL|RecentReap) != 0) {
		return EINVAL("xt_recent: --set/--remove take no --seconds, --hitcount, --rttl or --reap")
	}
	if r.CheckSet&RecentReap != 0 && r.Seconds == 0 {
		return EINVAL("xt_recent: --reap requires --seconds")
	}
	if r.HitCount >= recentMaxStamps {
		return EINVAL("xt_recent: hitcount (%d) is larger than allowed maximum (%d)", r.HitCount, recentMaxStamps-1)
	}
	return checkProcName(r.Name)
}

// checkProcName is the kernel's xt_check_proc_name (it logs nothing; the
// Dmesg text only keeps iptables' "Run `dmesg'" hint, given for EINVAL).
func checkProcName(name string) error {
	if name == "" || name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
		return EINVAL("x_tables: invalid /proc name %q", name)
	}
	return nil
}

func (r *Recent) Save(b *strings.Builder, c *Ctx) {
	if r.Invert {
		b.WriteString(" !")
	}
	if r.CheckSet&RecentSet != 0 {
		b.WriteString(" --set")
	}
	if r.CheckSet&RecentCheck != 0 {
		b.WriteString(" --rcheck")
	}
	if r.CheckSet&RecentUpdate != 0 {
		b.WriteString(" --update")
	}
	if r.CheckSet&RecentRemove != 0 {
		b.WriteString(" --remove")
	}
	if r.Seconds != 0 {
		fmt.Fprintf(b, " --seconds %d", int32(r.Seconds))
	}
	if r.CheckSet&RecentReap != 0 {
		b.WriteString(" --reap")
	}
	if r.HitCount != 0 {
		fmt.Fprintf(b, " --hitcount %d", int32(r.HitCount))
	}
	if r.CheckSet&RecentTTL != 0 {
		b.WriteString(" --rttl")
	}
	b.WriteString(" --name " + r.Name)
	b.WriteString(" --mask " + r.Mask.String())
	if r.Side == RecentSource {
		b.WriteString(" --rsource")
	}
	if r.Side == RecentDest {
		b.WriteString(" --rdest")
	}
}

func (r *Recent) Print(b *strings.Builder, c *Ctx, numeric bool) {
	if r.Invert {
		b.WriteString(" !")
	}
	b.WriteString(" recent:")
	if r.CheckSet&RecentSet != 0 {
		b.WriteString(" SET")
	}
	if r.CheckSet&RecentCheck != 0 {
		b.WriteString(" CHECK")
	}
	if r.CheckSet&RecentUpdate != 0 {
		b.WriteString(" UPDATE")
	}
	if r.CheckSet&RecentRemove != 0 {
		b.WriteString(" REMOVE")
	}
	if r.Seconds != 0 {
		fmt.Fprintf(b, " seconds: %d", int32(r.Seconds))
	}
	if r.CheckSet&RecentReap != 0 {
		b.WriteString(" reap")
	}
	if r.HitCount != 0 {
		fmt.Fprintf(b, " hit_count: %d", int32(r.HitCount))
	}
	if r.CheckSet&RecentTTL != 0 {
		b.WriteString(" TTL-Match")
	}
	b.WriteString(" name: " + r.Name)
	if r.Side == RecentSource {
		b.WriteString(" side: source")
	}
	if r.Side == RecentDest {
		b.WriteString(" side: dest")
	}
	b.WriteString(" mask: " + r.Mask.String())
}
