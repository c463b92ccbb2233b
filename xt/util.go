package xt

import (
	"bufio"
	"context"
	"github.com/nfgo/nfgo/internal/etcdb"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseUint parses s as strtoul with base 0 does (decimal, 0x hex, 0 octal)
// and requires the whole string to be a number within [min, max], as
// xtables_strtoul does.
func ParseUint(s string, min, max uint64) (uint64, bool) {
	v, ok := strtoul(s)
	if !ok || v < min || v > max {
		return 0, false
	}
	return v, true
}

// strtoul mimics strtoumax(s, &end, 0) with *end == '\0' required.
func strtoul(s string) (uint64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	if t[0] == '+' {
		t = t[1:]
	} else if t[0] == '-' {
		// strtoul accepts a sign and negates; xtables_strtoul_base
		// rejects negative numbers by range in practice.
		return 0, false
	}
	base := 10
	if len(t) > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		base = 16
		t = t[2:]
	} else if len(t) > 1 && t[0] == '0' {
		base = 8
		t = t[1:]
	}
	if t == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// ParseUintOpt parses an option's integer value with libxtables' message.
func ParseUintOpt(ext, opt, s string, min, max uint64) (uint64, error) {
	v, ok := ParseUint(s, min, max)
	if !ok {
		return 0, Errorf("%s: bad value for option \"--%s\", or out of range (%d-%d).\n", ext, opt, min, max)
	}
	return v, nil
}

// --- services and protocols -------------------------------------------

type servEntry struct {
	name  string
	port  uint16
	proto string
}

var (
	servOnce sync.Once
	servList []servEntry
)

func loadServices() {
	etcdb.Each("/etc/services", func(fs []string) {
		pp := strings.SplitN(fs[1], "/", 2)
		if len(pp) != 2 {
			return
		}
		p, err := strconv.ParseUint(pp[0], 10, 16)
		if err != nil {
			return
		}
		servList = append(servList, servEntry{fs[0], uint16(p), pp[1]})
		for _, alias := range fs[2:] {
			servList = append(servList, servEntry{alias, uint16(p), pp[1]})
		}
	})
}

// ServiceToPort looks a service name up in /etc/services (getservbyname).
// proto "" matches any protocol.
func ServiceToPort(name, proto string) (uint16, bool) {
	servOnce.Do(loadServices)
	for _, s := range servList {
		if s.name == name && (proto == "" || s.proto == proto) {
			return s.port, true
		}
	}
	return 0, false
}

// PortToService gives the first /etc/services name for port/proto
// (getservbyport), used by -L without -n.
func PortToService(port uint16, proto string) (string, bool) {
	servOnce.Do(loadServices)
	for _, s := range servList {
		if s.port == port && (proto == "" || s.proto == proto) {
			return s.name, true
		}
	}
	return "", false
}

// ParsePort is xtables_parse_port: a number or a service name.
func ParsePort(s, proto string) (uint16, error) {
	if v, ok := ParseUint(s, 0, 65535); ok {
		return uint16(v), nil
	}
	if p, ok := ServiceToPort(s, proto); ok {
		return p, nil
	}
	return 0, Errorf("invalid port/service `%s' specified", s)
}

// ChainProtos is xtables_chain_protos: the names iptables knows itself, and
// prints in iptables-save.
var ChainProtos = []struct {
	Name string
	Num  uint8
}{
	{"tcp", 6}, {"sctp", 132}, {"udp", 17}, {"udplite", 136}, {"icmp", 1},
	{"ipv6-icmp", 58}, {"icmpv6", 58}, {"esp", 50}, {"ah", 51},
	{"mobility-header", 135}, {"ipv6-mh", 135}, {"mh", 135}, {"all", 0},
}

type protoEntry struct {
	name string
	num  uint8
}

var (
	protoOnce sync.Once
	protoList []protoEntry
)

func loadProtocols() {
	etcdb.Each("/etc/protocols", func(fs []string) {
		n, err := strconv.ParseUint(fs[1], 10, 8)
		if err != nil {
			return
		}
		protoList = append(protoList, protoEntry{fs[0], uint8(n)})
		for _, a := range fs[2:] {
			protoList = append(protoList, protoEntry{a, uint8(n)})
		}
	})
}

// ParseProtocol is xtables_parse_protocol (the name already lower-cased).
func ParseProtocol(s string) (uint8, error) {
	if s != "" && (s[0] < 'a' || s[0] > 'z') {
		if v, ok := ParseUint(s, 0, 255); ok {
			return uint8(v), nil
		}
	}
	for _, p := range ChainProtos {
		if p.Name == s {
			return p.Num, nil
		}
	}
	protoOnce.Do(loadProtocols)
	for _, p := range protoList {
		if p.name == s {
			return p.num, nil
		}
	}
	return 0, Errorf("unknown protocol \"%s\" specified", s)
}

// ProtoToName is iptables' proto_to_name: the save form uses only the
// built-in names (nolookup), -L without -n also consults /etc/protocols.
func ProtoToName(proto uint8, nolookup bool) (string, bool) {
	if proto != 0 && !nolookup {
		protoOnce.Do(loadProtocols)
		for _, p := range protoList {
			if p.num == proto {
				return p.name, true
			}
		}
	}
	for _, p := range ChainProtos {
		if p.Num == proto {
			return p.Name, true
		}
	}
	return "", false
}

// ProtoNameForPorts is the name used to look services up for proto.
func ProtoNameForPorts(proto uint8) string {
	switch proto {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 132:
		return "sctp"
	case 33:
		return "dccp"
	case 136:
		return "udplite"
	}
	return ""
}

// --- IPv4 addresses ----------------------------------------------------

// IPv4 is an address in host order arithmetic form (a.b.c.d = a<<24|...).
type IPv4 uint32

func (a IPv4) String() string {
	var buf [15]byte
	return string(a.AppendTo(buf[:0]))
}

// AppendTo appends the dotted quad to b.
func (a IPv4) AppendTo(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(byte(a>>24)), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(byte(a>>16)), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(byte(a>>8)), 10)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(byte(a)), 10)
}

// numericToIPv4 is __numeric_to_ipaddr: 1 to 4 dotted parts; missing parts
// are zero (a network address) unless a mask is being parsed.
func numericToIPv4(s string, isMask bool) (IPv4, bool) {
	// Fast path: a plain decimal dotted quad.
	if a, ok := plainQuad(s); ok {
		return a, true
	}
	if len(s) > 19 {
		s = s[:19]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		// The C code copies at most 4 parts then fails on the rest.
		return 0, false
	}
	if isMask && len(parts) != 4 {
		return 0, false
	}
	var a IPv4
	for i, p := range parts {
		v, ok := ParseUint(p, 0, 255)
		if !ok {
			return 0, false
		}
		a |= IPv4(v) << (24 - 8*uint(i))
	}
	return a, true
}

// plainDecimal parses a decimal number without sign, space or leading zero
// (strtoul would read those the same way, or as octal), up to max.
func plainDecimal(s string, max int) (int, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
		if v > max {
			return 0, false
		}
	}
	return v, true
}

// plainQuad parses "a.b.c.d" with decimal parts without leading zeros.
func plainQuad(s string) (IPv4, bool) {
	var a IPv4
	part, digits, dots := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && part == 0 {
				return 0, false // leading zero: octal in strtoul, take the slow path
			}
			part = part*10 + int(c-'0')
			digits++
			if part > 255 {
				return 0, false
			}
		case c == '.':
			if digits == 0 || dots == 3 {
				return 0, false
			}
			a = a<<8 | IPv4(part)
			part, digits = 0, 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 || digits == 0 {
		return 0, false
	}
	return a<<8 | IPv4(part), true
}

// ParseIPv4Addr parses a dotted address as iptables accepts it.
func ParseIPv4Addr(s string) (IPv4, bool) { return numericToIPv4(s, false) }

// ParseIPv4Strict accepts only a full dotted quad.
func ParseIPv4Strict(s string) (IPv4, bool) {
	ip := net.ParseIP(s)
	if ip == nil || ip.To4() == nil || strings.Contains(s, ":") {
		return 0, false
	}
	v := ip.To4()
	return IPv4(uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])), true
}

// ResolveHost resolves a host name to IPv4 addresses (getaddrinfo). Tests
// and fuzzers replace it to stay off the network.
var ResolveHost = func(name string) []IPv4 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", name)
	if err != nil {
		return nil
	}
	var out []IPv4
	for _, ip := range ips {
		if v := ip.To4(); v != nil {
			out = append(out, IPv4(uint32(v[0])<<24|uint32(v[1])<<16|uint32(v[2])<<8|uint32(v[3])))
		}
	}
	return out
}

// parseIPv4Mask is parse_ipmask.
func parseIPv4Mask(s string, has bool) (IPv4, error) {
	if !has {
		return 0xFFFFFFFF, nil
	}
	if m, ok := numericToIPv4(s, true); ok {
		return m, nil
	}
	bits, ok := ParseUint(s, 0, 32)
	if !ok {
		return 0, Errorf("invalid mask `%s' specified", s)
	}
	return PrefixMask(int(bits)), nil
}

// PrefixMask is the IPv4 mask of a prefix length.
func PrefixMask(bits int) IPv4 {
	if bits <= 0 {
		return 0
	}
	return IPv4(uint32(0xFFFFFFFF) << (32 - uint(bits)))
}

// AddrMask is one address/mask pair.
type AddrMask struct {
	Addr, Mask IPv4
}

// ParseIPv4Multiple is xtables_ipparse_multiple: a comma separated list of
// host/network[/mask]; host names may expand to several addresses. The
// address is masked.
func ParseIPv4Multiple(name string) ([]AddrMask, error) {
	if strings.IndexByte(name, ',') < 0 {
		// One item: no list to split or de-duplicate.
		host, mask := name, ""
		i := strings.LastIndexByte(name, '/')
		if i >= 0 {
			host, mask = name[:i], name[i+1:]
		}
		if a, ok := plainQuad(host); ok {
			if i < 0 {
				return []AddrMask{{a, 0xFFFFFFFF}}, nil
			}
			if bits, ok := plainDecimal(mask, 32); ok {
				m := PrefixMask(bits)
				return []AddrMask{{a & m, m}}, nil
			}
		}
	}
	var out []AddrMask
	for _, item := range strings.Split(name, ",") {
		item = strings.TrimLeft(item, " \t\n\v\f\r")
		if len(item) > 255 {
			return nil, Errorf("Hostname too long")
		}
		host := item
		var mask IPv4
		var err error
		if i := strings.LastIndexByte(item, '/'); i >= 0 {
			host = item[:i]
			mask, err = parseIPv4Mask(item[i+1:], true)
		} else {
			mask, err = parseIPv4Mask("", false)
		}
		if err != nil {
			return nil, err
		}
		if mask == 0 {
			host = "0.0.0.0"
		}
		addrs, err := ipparseHostNetwork(host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			out = append(out, AddrMask{a & mask, mask})
		}
	}
	// Remove duplicates as xtables_ipparse_multiple does.
	var uniq []AddrMask
	for _, am := range out {
		dup := false
		for _, u := range uniq {
			if u == am {
				dup = true
				break
			}
		}
		if !dup {
			uniq = append(uniq, am)
		}
	}
	return uniq, nil
}

func ipparseHostNetwork(name string) ([]IPv4, error) {
	if a, ok := numericToIPv4(name, false); ok {
		return []IPv4{a}, nil
	}
	if name != "" {
		if addrs := ResolveHost(name); len(addrs) > 0 {
			return addrs, nil
		}
	}
	return nil, Errorf("host/network `%s' not found", name)
}

// ParseIPv4Any is xtables_ipparse_any: one host or network with optional
// mask, the first address if a name resolves to several.
func ParseIPv4Any(name string) (AddrMask, error) {
	host := name
	mask, err := parseIPv4Mask("", false)
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		host = name[:i]
		mask, err = parseIPv4Mask(name[i+1:], true)
	}
	if err != nil {
		return AddrMask{}, err
	}
	if mask == 0 {
		host = "0.0.0.0"
	}
	addrs, err := ipparseHostNetwork(host)
	if err != nil {
		return AddrMask{}, err
	}
	return AddrMask{addrs[0] & mask, mask}, nil
}

// MaskLen returns the prefix length of a contiguous mask, or -1.
func MaskLen(m IPv4) int {
	if m == 0xFFFFFFFF {
		return 32
	}
	bits := uint32(0xFFFFFFFE)
	for i := 31; i >= 0; i-- {
		if uint32(m) == bits {
			return i
		}
		bits <<= 1
	}
	return -1
}

// MaskString is mask_to_str of iptables-save: "/24" style without the slash,
// or a dotted mask when not contiguous.
func MaskString(m IPv4) string {
	if l := MaskLen(m); l >= 0 {
		return strconv.Itoa(l)
	}
	return m.String()
}

// IPMaskToNumeric is xtables_ipmask_to_numeric: "" for /32, "/N" or
// "/a.b.c.d".
func IPMaskToNumeric(m IPv4) string {
	l := MaskLen(m)
	if l == 32 {
		return ""
	}
	if l >= 0 {
		return "/" + strconv.Itoa(l)
	}
	return "/" + m.String()
}

// IPAddrToAnyname is xtables_ipaddr_to_anyname: a host or network name if
// one resolves (we consult /etc/hosts and /etc/networks only, never DNS),
// else numeric.
func IPAddrToAnyname(a IPv4) string {
	if n, ok := reverseHosts(a); ok {
		return n
	}
	return a.String()
}

var (
	hostsOnce sync.Once
	hostsRev  map[IPv4]string
	netsRev   map[IPv4]string
)

func loadHosts() {
	hostsRev = map[IPv4]string{}
	netsRev = map[IPv4]string{}
	if f, err := os.Open("/etc/hosts"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fs := strings.Fields(line)
			if len(fs) < 2 {
				continue
			}
			a, ok := ParseIPv4Strict(fs[0])
			if !ok {
				continue
			}
			if _, dup := hostsRev[a]; !dup {
				hostsRev[a] = fs[1]
			}
		}
		f.Close()
	}
	if f, err := os.Open("/etc/networks"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fs := strings.Fields(line)
			if len(fs) < 2 {
				continue
			}
			a, ok := numericToIPv4(fs[1], false)
			if !ok {
				continue
			}
			if _, dup := netsRev[a]; !dup {
				netsRev[a] = fs[0]
			}
		}
		f.Close()
	}
}

func reverseHosts(a IPv4) (string, bool) {
	hostsOnce.Do(loadHosts)
	if n, ok := hostsRev[a]; ok {
		return n, true
	}
	if n, ok := netsRev[a]; ok {
		return n, true
	}
	return "", false
}

// --- interfaces --------------------------------------------------------

// ParseInterface is xtables_parse_interface's length check; the name is kept
// as typed (a trailing "+" is a wildcard).
func ParseInterface(arg string) (string, error) {
	if len(arg)+1 > 16 {
		return "", Errorf("interface name `%s' must be shorter than IFNAMSIZ (%d)", arg, 15)
	}
	return arg, nil
}

// --- C number parsing ----------------------------------------------------

// StrtoulPrefix is C's strtoul(s, &end, base) for base 0, 8, 10 or 16:
// leading white space, an optional sign ('-' negates modulo 2^64), the base
// prefix, then as many digits as there are. n is the number of bytes
// consumed (0 when there are no digits: end == s); erange reports overflow
// (v is then 2^64-1, as strtoul returns ULONG_MAX).
func StrtoulPrefix(s string, base int) (v uint64, n int, erange bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+2 < len(s) && s[i] == '0' &&
		(s[i+1] == 'x' || s[i+1] == 'X') && digitVal(s[i+2]) < 16 {
		i += 2
		base = 16
	} else if base == 0 {
		base = 10
		if i < len(s) && s[i] == '0' {
			base = 8
		}
	}
	start := i
	for ; i < len(s); i++ {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if v > (1<<64-1-uint64(d))/uint64(base) {
			erange = true
		}
		v = v*uint64(base) + uint64(d)
	}
	if i == start {
		return 0, 0, false
	}
	if erange {
		return 1<<64 - 1, i, true
	}
	if neg {
		v = -v
	}
	return v, i, false
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// XtablesStrtoul is xtables_strtoul(s, &end, &v, min, max): a number at the
// start of s (strtoumax base 0, no leading '-') within [min, max] (max 0
// means no limit); rest is what follows the number.
func XtablesStrtoul(s string, min, max uint64) (v uint64, rest string, ok bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t != "" && t[0] == '-' {
		return 0, s, false
	}
	v, n, erange := StrtoulPrefix(s, 0)
	if n == 0 {
		return 0, s, false
	}
	if erange || v < min || (max != 0 && v > max) {
		return 0, s[n:], false
	}
	return v, s[n:], true
}

// ParseMint is libxtables' xtopt_parse_mint (XTTYPE_UINT*RC in 1.8.9):
// up to maxiter numbers separated by ':', each at most max; an empty first
// component is 0 and an empty second one max. It returns the values given
// (one or two for a range).
func ParseMint(ext, opt, arg string, max uint64, maxiter int) ([]uint64, error) {
	var vals []uint64
	s := arg
	for {
		if len(vals) == maxiter {
			return nil, Errorf("%s: Too many components for option \"--%s\" (max: %d)\n", ext, opt, maxiter)
		}
		var v uint64
		rest := s
		if s == "" || s[0] == ':' {
			if len(vals) == 1 {
				v = max
			}
		} else {
			var ok bool
			v, rest, ok = XtablesStrtoul(s, 0, max)
			if !ok {
				return nil, Errorf("%s: bad value for option \"--%s\" near \"%s\", or out of range (0-%d).\n", ext, opt, s, max)
			}
			if rest != "" && rest[0] != ':' {
				return nil, Errorf("%s: Argument to \"--%s\" has unexpected characters near \"%s\".\n", ext, opt, rest)
			}
		}
		vals = append(vals, v)
		if rest == "" {
			return vals, nil
		}
		s = rest[1:]
	}
}

// --- x6 option ids -------------------------------------------------------

// X6Entry is one entry of a libxtables x6 option table. Unlike Option it
// carries the entry's id: aliases ("sport" / "source-port") share an id,
// and libxtables maps every name to its id and then uses the FIRST entry
// with that id for the checks and their messages (so "--sport 1 --sport 2"
// reports "--source-port", and "! --ttl 5" is accepted because "--ttl-eq",
// the first entry of its id, may be inverted).
type X6Entry struct {
	Name  string
	ID    uint
	Arg   bool
	Flags OptFlag // OptInvert, OptMulti, OptMand
	Excl  uint32  // ids it excludes (may include its own: once only)
	Also  uint32  // ids it requires
}

// X6Table is an extension's x6 option table, for extensions with aliases.
// Its Options give every name OptInvert|OptMulti so that the generic checks
// pass, and the extension calls Parse and Final itself.
type X6Table struct {
	Ext     string
	Entries []X6Entry
}

// Options is the option list for Def.Options.
func (t *X6Table) Options() []Option {
	out := make([]Option, len(t.Entries))
	for i, e := range t.Entries {
		out[i] = Option{Name: e.Name, Arg: e.Arg, Flags: OptInvert | OptMulti}
	}
	return out
}

// Lookup returns the entry libxtables uses for the option called name.
func (t *X6Table) Lookup(name string) *X6Entry {
	for i := range t.Entries {
		if t.Entries[i].Name == name {
			return t.byID(t.Entries[i].ID)
		}
	}
	return nil
}

func (t *X6Table) byID(id uint) *X6Entry {
	for i := range t.Entries {
		if t.Entries[i].ID == id {
			return &t.Entries[i]
		}
	}
	return nil
}

// Parse is xtables_option_parse's checks for option name; it returns the
// entry in effect. The caller records the id in its flags (1<<e.ID) once
// its own parsing succeeded.
func (t *X6Table) Parse(name string, invert bool, xflags uint32) (*X6Entry, error) {
	e := t.Lookup(name)
	if e == nil {
		return nil, OtherErrorf("Extension does not know option %s", name)
	}
	bit := uint32(1) << e.ID
	if (e.Flags&OptMulti == 0 || e.Excl&bit != 0) && xflags&bit != 0 {
		return nil, Errorf("%s: option \"--%s\" can only be used once.\n", t.Ext, e.Name)
	}
	if invert && e.Flags&OptInvert == 0 {
		return nil, Errorf("%s: option \"--%s\" cannot be inverted.\n", t.Ext, e.Name)
	}
	return e, nil
}

// Final is xtables_options_fcheck: mandatory, "also requires" and
// "cannot be used together with" checks, in table order.
func (t *X6Table) Final(xflags uint32) error {
	for i := range t.Entries {
		e := &t.Entries[i]
		ef := uint32(1) << e.ID
		if e.Flags&OptMand != 0 && xflags&ef == 0 {
			return Errorf("%s: option \"--%s\" must be specified\n", t.Ext, e.Name)
		}
		if xflags&ef == 0 {
			continue
		}
		for id := uint(0); id < 32; id++ {
			if id == e.ID {
				continue
			}
			other := t.byID(id)
			if other == nil {
				continue
			}
			of := uint32(1) << id
			if e.Also&of != 0 && xflags&of == 0 {
				return Errorf("%s: option \"--%s\" also requires \"--%s\".\n", t.Ext, e.Name, other.Name)
			}
			if e.Excl&of != 0 && xflags&(ef|of) == ef|of {
				return Errorf("%s: option \"--%s\" cannot be used together with \"--%s\".\n", t.Ext, e.Name, other.Name)
			}
		}
	}
	return nil
}

// StrCaseEqual is strcasecmp(a, b) == 0 in the C locale: ASCII letters
// only fold (strings.EqualFold would also fold e.g. U+017F to 's').
func StrCaseEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
