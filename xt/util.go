package xt

import (
	"bufio"
	"context"
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
	f, err := os.Open("/etc/services")
	if err != nil {
		return
	}
	defer f.Close()
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
		pp := strings.SplitN(fs[1], "/", 2)
		if len(pp) != 2 {
			continue
		}
		p, err := strconv.ParseUint(pp[0], 10, 16)
		if err != nil {
			continue
		}
		servList = append(servList, servEntry{fs[0], uint16(p), pp[1]})
		for _, alias := range fs[2:] {
			servList = append(servList, servEntry{alias, uint16(p), pp[1]})
		}
	}
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
	f, err := os.Open("/etc/protocols")
	if err != nil {
		return
	}
	defer f.Close()
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
		n, err := strconv.ParseUint(fs[1], 10, 8)
		if err != nil {
			continue
		}
		protoList = append(protoList, protoEntry{fs[0], uint8(n)})
		for _, a := range fs[2:] {
			protoList = append(protoList, protoEntry{a, uint8(n)})
		}
	}
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
