package ipset

import (
	"sort"
	"strconv"
	"strings"
)

// Header is the "Header:" text, also the tail of a save "create" line.
func (s *Set) Header() string {
	o := &s.Opts
	var b strings.Builder
	switch s.Type {
	case TypeBitmapPort:
		b.WriteString("range " + strconv.Itoa(int(o.PortFrom)) + "-" + strconv.Itoa(int(o.PortTo)))
		s.extHeader(&b)
		return b.String()
	case TypeBitmapIP:
		b.WriteString("range " + ipString(o.IPFrom) + "-" + ipString(o.IPTo))
		if s.netmask() != 32 {
			b.WriteString(" netmask " + strconv.Itoa(int(s.netmask())))
		}
		s.extHeader(&b)
		return b.String()
	}
	b.WriteString("family ")
	b.WriteString(o.Family)
	b.WriteString(" hashsize ")
	b.WriteString(strconv.FormatUint(uint64(s.Hashsize()), 10))
	b.WriteString(" maxelem ")
	b.WriteString(strconv.FormatUint(uint64(o.Maxelem), 10))
	if s.Type == TypeHashIP && s.netmask() != 32 {
		b.WriteString(" netmask ")
		b.WriteString(strconv.Itoa(int(s.netmask())))
	}
	s.extHeader(&b)
	b.WriteString(" bucketsize ")
	b.WriteString(strconv.Itoa(int(o.BucketSize)))
	b.WriteString(" initval 0x")
	h := strconv.FormatUint(uint64(o.InitVal), 16)
	b.WriteString(strings.Repeat("0", 8-len(h)))
	b.WriteString(h)
	if s.Type == TypeHashIPPort && s.netmask() != 32 {
		b.WriteString(" netmask ")
		b.WriteString(strconv.Itoa(int(s.netmask())))
	}
	return b.String()
}

func (s *Set) extHeader(b *strings.Builder) {
	o := &s.Opts
	if o.HasTimeout {
		b.WriteString(" timeout ")
		b.WriteString(strconv.FormatUint(uint64(o.Timeout), 10))
	}
	if o.Counters {
		b.WriteString(" counters")
	}
	if o.Comment {
		b.WriteString(" comment")
	}
	if o.SkbInfo {
		b.WriteString(" skbinfo")
	}
}

// members returns the live entries in the kernel's dump order (bucket by
// bucket, slot by slot), or sorted.
func (s *Set) members(sorted bool) []int32 {
	if s.isBitmap() {
		return s.bmMembers(false)
	}
	now := s.now()
	var out []int32
	for _, n := range s.t.buckets {
		if n == nil {
			continue
		}
		for j := 0; j < n.pos; j++ {
			if i := n.slot[j]; i >= 0 && !s.expired(&s.entries[i], now) {
				out = append(out, i)
			}
		}
	}
	if sorted {
		sort.SliceStable(out, func(a, b int) bool {
			x, y := &s.entries[out[a]], &s.entries[out[b]]
			if x.ip != y.ip {
				return x.ip < y.ip
			}
			if x.cidr != y.cidr {
				// ipset 7.17 lists the longer prefix of one address first.
				return x.cidr > y.cidr
			}
			if x.proto != y.proto {
				return x.proto < y.proto
			}
			return x.port < y.port
		})
	}
	return out
}

// remaining is ip_set_timeout_get: whole seconds left, at least 1.
func remaining(exp, now int64) uint64 {
	if exp == 0 {
		return 0
	}
	t := (exp - now) / 1e9
	if t <= 0 {
		return 1
	}
	return uint64(t)
}

func (s *Set) elemText(b *strings.Builder, i int32, now int64, state bool) {
	e := &s.entries[i]
	switch s.Type {
	case TypeBitmapPort:
		b.WriteString(strconv.Itoa(int(e.port)))
	case TypeBitmapIP:
		b.WriteString(ipString(e.ip))
	default:
		b.WriteString(ipString(e.ip))
		if s.isNet() && e.cidr != 32 {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(int(e.cidr)))
		}
		if s.hasPort() {
			b.WriteByte(',')
			portText(b, e.proto, e.port)
		}
	}
	if s.Opts.HasTimeout {
		if state {
			b.WriteString(" nfgo-expires ")
			b.WriteString(strconv.FormatInt(e.expires, 10))
		} else {
			b.WriteString(" timeout ")
			b.WriteString(strconv.FormatUint(remaining(e.expires, now), 10))
		}
	}
	if e.nomatch {
		b.WriteString(" nomatch")
	}
	if s.Opts.Counters {
		b.WriteString(" packets ")
		b.WriteString(strconv.FormatUint(e.packets, 10))
		b.WriteString(" bytes ")
		b.WriteString(strconv.FormatUint(e.bytes, 10))
	}
	if s.Opts.Comment && e.comment != "" {
		b.WriteString(" comment \"")
		b.WriteString(e.comment)
		b.WriteByte('"')
	}
}

// Output modes.
const (
	OutPlain = iota
	OutSave
	OutXML
)

// ListFlags select what "ipset list" prints.
type ListFlags struct {
	Mode   int
	Sorted bool
	Name   bool // -n
	Terse  bool // -t
	state  bool // internal state file: absolute expiry times
}

// WriteList appends one set's listing in the given mode; first tells
// whether it is the first set printed (plain mode separates sets by a
// blank line).
func (s *Set) WriteList(b *strings.Builder, f ListFlags, first bool) {
	now := s.now()
	// ipset 7.17 ignores -n and -t in save mode.
	if f.Name && f.Mode != OutSave {
		b.WriteString(s.Name)
		b.WriteByte('\n')
		return
	}
	if f.Mode == OutSave {
		b.WriteString("create ")
		b.WriteString(s.Name)
		b.WriteByte(' ')
		b.WriteString(s.Type)
		b.WriteByte(' ')
		b.WriteString(s.Header())
		b.WriteByte('\n')
		for _, i := range s.members(f.Sorted) {
			b.WriteString("add ")
			b.WriteString(s.Name)
			b.WriteByte(' ')
			s.elemText(b, i, now, f.state)
			b.WriteByte('\n')
		}
		return
	}
	if !first {
		b.WriteByte('\n')
	}
	b.WriteString("Name: " + s.Name + "\n")
	b.WriteString("Type: " + s.Type + "\n")
	b.WriteString("Revision: " + strconv.Itoa(s.Revision()) + "\n")
	b.WriteString("Header: " + s.Header() + "\n")
	b.WriteString("Size in memory: " + strconv.Itoa(s.MemSize()) + "\n")
	b.WriteString("References: " + strconv.Itoa(s.Refs) + "\n")
	b.WriteString("Number of entries: " + strconv.Itoa(s.Len()) + "\n")
	if f.Terse {
		return
	}
	b.WriteString("Members:\n")
	for _, i := range s.members(f.Sorted) {
		s.elemText(b, i, now, false)
		b.WriteByte('\n')
	}
}
