package ipset

import (
	"encoding/binary"
	"sort"
	"strconv"
	"strings"
)

// Header is the "Header:" text, also the tail of a save "create" line.
func (s *Set) Header() string {
	o := &s.Opts
	var b strings.Builder
	switch s.Type {
	case TypeListSet:
		s.listHeader(&b)
		return b.String()
	case TypeBitmapPort:
		b.WriteString("range " + strconv.Itoa(int(o.PortFrom)) + "-" + strconv.Itoa(int(o.PortTo)))
		s.extHeader(&b)
		return b.String()
	case TypeBitmapIP, TypeBitmapIPMAC:
		b.WriteString("range " + ipString(o.IPFrom) + "-" + ipString(o.IPTo))
		if s.netmask() != 32 {
			b.WriteString(" netmask " + strconv.Itoa(int(s.netmask())))
		}
		s.extHeader(&b)
		return b.String()
	}
	if s.Type != TypeHashMAC { // family-neutral: no family printed
		b.WriteString("family ")
		b.WriteString(o.Family)
		b.WriteByte(' ')
	}
	b.WriteString("hashsize ")
	b.WriteString(strconv.FormatUint(uint64(s.Hashsize()), 10))
	b.WriteString(" maxelem ")
	b.WriteString(strconv.FormatUint(uint64(o.Maxelem), 10))
	if s.Type == TypeHashIP && s.netmask() != s.hostLen() {
		b.WriteString(" netmask ")
		b.WriteString(strconv.Itoa(int(s.netmask())))
	}
	if s.Type == TypeHashIP {
		s.bitmaskHeader(&b)
	}
	s.extHeader(&b)
	b.WriteString(" bucketsize ")
	b.WriteString(strconv.Itoa(int(o.BucketSize)))
	b.WriteString(" initval 0x")
	h := strconv.FormatUint(uint64(o.InitVal), 16)
	b.WriteString(strings.Repeat("0", 8-len(h)))
	b.WriteString(h)
	if s.Type == TypeHashIPPort && s.netmask() != s.hostLen() {
		b.WriteString(" netmask ")
		b.WriteString(strconv.Itoa(int(s.netmask())))
	}
	if s.Type == TypeHashIPPort {
		s.bitmaskHeader(&b)
	}
	return b.String()
}

// bitmaskHeader prints a bitmask unless it is all ones (the kernel
// lists it only then).
func (s *Set) bitmaskHeader(b *strings.Builder) {
	o := &s.Opts
	if !o.HasBitmask {
		return
	}
	if !s.isV6() {
		if m := binary.BigEndian.Uint32(o.Bitmask[:4]); m != 0xffffffff {
			b.WriteString(" bitmask " + ipString(m))
		}
		return
	}
	for _, x := range o.Bitmask {
		if x != 0xff {
			b.WriteString(" bitmask " + string(appendIPv6(nil, o.Bitmask)))
			return
		}
	}
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
func (s *Set) members(sorted, resolve bool) []int32 {
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
		// ipset sorts the listed lines with its bystrcmp, stably.
		now := s.now()
		txt := make(map[int32]string, len(out))
		for _, i := range out {
			var b strings.Builder
			s.elemText(&b, i, now, false)
			txt[i] = b.String()
		}
		cmp := bystrcmp
		if resolve {
			cmp = strings.Compare // bystrcmp's IPSET_ENV_RESOLVE case
		}
		sort.SliceStable(out, func(a, b int) bool { return cmp(txt[out[a]], txt[out[b]]) < 0 })
	}
	return out
}

// strtol16 is strtol(s+i, &end, 16): the value and the end index (i when
// no number was read).
func strtol16(s string, i int) (int64, int) {
	j := i
	for j < len(s) && (s[j] == ' ' || (s[j] >= '\t' && s[j] <= '\r')) {
		j++
	}
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	hex := func(c byte) (int64, bool) {
		switch {
		case c >= '0' && c <= '9':
			return int64(c - '0'), true
		case c >= 'a' && c <= 'f':
			return int64(c-'a') + 10, true
		case c >= 'A' && c <= 'F':
			return int64(c-'A') + 10, true
		}
		return 0, false
	}
	if j+2 < len(s) && s[j] == '0' && (s[j+1] == 'x' || s[j+1] == 'X') {
		if _, ok := hex(s[j+2]); ok {
			j += 2
		}
	}
	var v uint64
	start, over := j, false
	for j < len(s) {
		d, ok := hex(s[j])
		if !ok {
			break
		}
		if v > (1<<63)>>4 {
			over = true
		}
		v = v<<4 | uint64(d)
		j++
	}
	if j == start {
		return 0, i
	}
	switch {
	case over || (!neg && v > 1<<63-1):
		if neg {
			return -1 << 63, j
		}
		return 1<<63 - 1, j
	case neg && v > 1<<63:
		return -1 << 63, j
	case neg:
		return -int64(v), j
	}
	return int64(v), j
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// bystrcmp is libipset's comparison of two listed elements for "list
// -s": numbers (read as hexadecimal) compared by value, a prefix length
// after '/' in reverse (the longer prefix first) and an address without
// one before an address with one, names (protocols, ICMP names) by length
// and then bytes. Its int result is the C function's (the long
// difference truncated).
func bystrcmp(x, y string) int {
	i, j := 0, 0
	neg := int64(1)
	for i < len(x) && j < len(y) {
		n1, e1 := strtol16(x, i)
		n2, e2 := strtol16(y, j)
		if e1 == i || e2 == j {
			c1 := strings.IndexAny(x[i:], ":,")
			if c1 < 0 {
				c1 = len(x) - i
			}
			c2 := strings.IndexAny(y[j:], ":,")
			if c2 < 0 {
				c2 = len(y) - j
			}
			if c1 != 0 || c2 != 0 {
				if c1 == c2 {
					if r := strings.Compare(x[i:i+c1], y[j:j+c1]); r != 0 {
						return r
					}
					i += c1 + 1
					j += c1 + 1
					neg = 1
					continue
				}
				if c1 < c2 {
					return -1
				}
				return 1
			}
			return strings.Compare(x[i:], y[j:])
		}
		if n1 != n2 {
			return int(int32(neg * (n1 - n2)))
		}
		s1, s2 := at(x, e1), at(y, e2)
		if s1 == '/' || s2 == '/' {
			if s1 == s2 {
				neg = -1
			} else if s1 == '/' {
				return 1
			} else {
				return -1
			}
		}
		i, j = e1+1, e2+1
		if at(x, i) == ':' || at(y, j) == ':' {
			if at(x, i) == at(y, j) {
				i++
				j++
			} else if at(x, i) == ':' {
				return -1
			} else {
				return 1
			}
		}
	}
	switch {
	case i < len(x):
		return 1
	case j < len(y):
		return -1
	}
	return 0
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
	case TypeBitmapIPMAC:
		s.ipmacText(b, e, now, state)
		return
	case TypeBitmapPort:
		b.WriteString(strconv.Itoa(int(e.port)))
	case TypeBitmapIP:
		b.WriteString(ipString(e.ip))
	case TypeHashMAC:
		macText(b, e.ip, e.port)
	default:
		b.WriteString(s.ipText(e.ip))
		if s.netOnIP() && e.cidr != s.hostLen() {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(int(e.cidr)))
		}
		if s.hasPort() {
			b.WriteByte(',')
			portText(b, e.proto, e.port)
		}
		if s.Type == TypeHashNetIface {
			b.WriteByte(',')
			if e.ext().physdev {
				b.WriteString("physdev:")
			}
			if state {
				b.WriteString(stateWord(e.ext().iface))
			} else {
				b.WriteString(e.ext().iface) // as ipset prints it, blanks and all
			}
		}
		if s.hasIP2() {
			b.WriteByte(',')
			b.WriteString(s.ipText(e.ip2))
			if s.Type == TypeHashIPPortNet && e.cidr != s.hostLen() {
				b.WriteByte('/')
				b.WriteString(strconv.Itoa(int(e.cidr)))
			}
		}
	}
	x := e.ext()
	s.extText(b, e.expires, e.nomatch, x.wildcard, e.packets, e.bytes, x.comment, x.skb, now, state)
}

// extText prints an element's extensions as list and save do.
func (s *Set) extText(b *strings.Builder, expires int64, nomatch, wildcard bool, packets, bytes uint64, comment string, skb SkbInfo, now int64, state bool) {
	if s.Opts.HasTimeout {
		if state {
			b.WriteString(" nfgo-expires ")
			b.WriteString(strconv.FormatInt(expires, 10))
		} else {
			b.WriteString(" timeout ")
			b.WriteString(strconv.FormatUint(remaining(expires, now), 10))
		}
	}
	s.extRest(b, nomatch, wildcard, packets, bytes, comment, skb, state)
}

// extRest is extText after the timeout.
func (s *Set) extRest(b *strings.Builder, nomatch, wildcard bool, packets, bytes uint64, comment string, skb SkbInfo, state bool) {
	if nomatch {
		b.WriteString(" nomatch")
	}
	if wildcard {
		b.WriteString(" wildcard")
	}
	if s.Opts.Counters {
		b.WriteString(" packets ")
		b.WriteString(strconv.FormatUint(packets, 10))
		b.WriteString(" bytes ")
		b.WriteString(strconv.FormatUint(bytes, 10))
	}
	if s.Opts.Comment && comment != "" {
		b.WriteString(" comment ")
		if state {
			b.WriteString(strconv.Quote(comment))
		} else {
			b.WriteString(`"` + comment + `"`)
		}
	}
	if s.Opts.SkbInfo {
		skbText(b, skb)
	}
}

// skbText prints the nonzero skbinfo parts (ip_set_put_skbinfo sends
// only those; libipset prints a full mask as the mark alone).
func skbText(b *strings.Builder, x SkbInfo) {
	if x.Mark != 0 || x.Mask != 0 {
		b.WriteString(" skbmark 0x")
		b.WriteString(strconv.FormatUint(uint64(x.Mark), 16))
		if x.Mask != 0xffffffff {
			b.WriteString("/0x")
			b.WriteString(strconv.FormatUint(uint64(x.Mask), 16))
		}
	}
	if x.Prio != 0 {
		b.WriteString(" skbprio ")
		b.WriteString(strconv.FormatUint(uint64(x.Prio>>16), 16))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(uint64(x.Prio&0xffff), 16))
	}
	if x.Queue != 0 {
		b.WriteString(" skbqueue ")
		b.WriteString(strconv.Itoa(int(x.Queue)))
	}
}

// writeMembers appends the members' lines, each after pfx.
func (s *Set) writeMembers(b *strings.Builder, f ListFlags, pfx string, now int64) {
	if s.isList() {
		for i := range s.list {
			if e := &s.list[i]; !s.listExpired(e, now) {
				b.WriteString(pfx)
				s.listText(b, e, now, f.state)
				b.WriteByte('\n')
			}
		}
		return
	}
	for _, i := range s.members(f.Sorted, f.Resolve) {
		b.WriteString(pfx)
		s.elemText(b, i, now, f.state)
		b.WriteByte('\n')
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
	Mode    int
	Sorted  bool
	Resolve bool // -r: names are not resolved, but -s sorts by strcmp
	Name    bool // -n
	Terse   bool // -t
	state   bool // internal state file: absolute expiry times
}

// WriteList appends one set's listing in the given mode; first tells
// whether it is the first set printed (plain mode separates sets by a
// blank line).
func (s *Set) WriteList(b *strings.Builder, f ListFlags, first bool) {
	now := s.now()
	if f.Mode == OutXML {
		s.writeXML(b, f, now)
		return
	}
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
		s.writeMembers(b, f, "add "+s.Name+" ", now)
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
	f.state = false
	s.writeMembers(b, f, "", now)
}

// dumpOrder is the order "ipset list" and "ipset save" print every set
// in: index order, the list:set sets (IPSET_DUMP_LAST) after the others.
func (r *Registry) dumpOrder() []*Set {
	var out, last []*Set
	for _, s := range r.Sets() {
		if s.isList() {
			last = append(last, s)
		} else {
			out = append(out, s)
		}
	}
	return append(out, last...)
}

// writeXML is one set in "-output xml" (libipset's list_create and
// list_adt in XML mode): the header's and each member's keywords become
// elements, <kw>value</kw> or <kw/> for the flags; -t ends after the
// header, -n prints the name alone. The caller wraps the sets in
// <ipsets>.
func (s *Set) writeXML(b *strings.Builder, f ListFlags, now int64) {
	if f.Name {
		b.WriteString("<ipset name=\"" + s.Name + "\"/>\n")
		return
	}
	b.WriteString("<ipset name=\"" + s.Name + "\">\n<type>" + s.Type + "</type>\n<revision>" +
		strconv.Itoa(s.Revision()) + "</revision>\n<header>")
	xmlArgs(b, s.Header(), true)
	b.WriteString("\n<memsize>" + strconv.Itoa(s.MemSize()) + "</memsize>\n<references>" + strconv.Itoa(s.Refs) +
		"</references>\n<numentries>" + strconv.Itoa(s.Len()) + "</numentries>\n</header>\n")
	if f.Terse {
		b.WriteString("</ipset>\n")
		return
	}
	b.WriteString("<members>\n")
	var m strings.Builder
	f.state = false
	s.writeMembers(&m, f, "", now)
	for _, l := range strings.Split(strings.TrimSuffix(m.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		elem, rest, _ := strings.Cut(l, " ")
		b.WriteString("<member><elem>" + elem + "</elem>")
		xmlArgs(b, rest, false)
		b.WriteString("</member>\n")
	}
	b.WriteString("</members>\n</ipset>\n")
}

// xmlFlags are the keywords that take no value (in a header, and among a
// member's extensions).
var xmlFlags = map[bool]map[string]bool{
	true:  {"counters": true, "comment": true, "skbinfo": true, "forceadd": true},
	false: {"nomatch": true, "wildcard": true},
}

// xmlArgs turns "kw value kw2 ..." (a header's or a member's plain text;
// a comment's value is quoted and may hold spaces) into XML elements.
func xmlArgs(b *strings.Builder, text string, header bool) {
	for text = strings.TrimLeft(text, " "); text != ""; text = strings.TrimLeft(text, " ") {
		kw, rest, _ := strings.Cut(text, " ")
		if xmlFlags[header][kw] {
			b.WriteString("<" + kw + "/>")
			text = rest
			continue
		}
		var v string
		if strings.HasPrefix(rest, "\"") {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				end = len(rest) - 2
			}
			v, text = rest[:end+2], rest[end+2:]
		} else {
			v, text, _ = strings.Cut(rest, " ")
		}
		b.WriteString("<" + kw + ">" + v + "</" + kw + ">")
	}
}
