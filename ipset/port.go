package ipset

import (
	"github.com/nfgo/nfgo/internal/etcdb"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The proto:port element part of hash:ip,port and hash:net,port and the
// port of bitmap:port, with ipset 7.17's syntax and messages
// (ipset_parse_proto_port, ipset_parse_tcpudp_port, ipset_parse_icmp).

type icmpName struct {
	name      string
	typ, code uint8
}

// The ICMP names of libipset (type/code); parsing accepts a prefix of a
// name, the first match winning, as its strncmp does.
var icmpNames = []icmpName{
	{"echo-reply", 0, 0}, {"pong", 0, 0}, {"network-unreachable", 3, 0}, {"host-unreachable", 3, 1},
	{"protocol-unreachable", 3, 2}, {"port-unreachable", 3, 3}, {"fragmentation-needed", 3, 4},
	{"source-route-failed", 3, 5}, {"network-unknown", 3, 6}, {"host-unknown", 3, 7},
	{"network-prohibited", 3, 9}, {"host-prohibited", 3, 10}, {"TOS-network-unreachable", 3, 11},
	{"TOS-host-unreachable", 3, 12}, {"communication-prohibited", 3, 13},
	{"host-precedence-violation", 3, 14}, {"precedence-cutoff", 3, 15}, {"source-quench", 4, 0},
	{"network-redirect", 5, 0}, {"host-redirect", 5, 1}, {"TOS-network-redirect", 5, 2},
	{"TOS-host-redirect", 5, 3}, {"echo-request", 8, 0}, {"ping", 8, 0}, {"router-advertisement", 9, 0},
	{"router-solicitation", 10, 0}, {"ttl-zero-during-transit", 11, 0}, {"ttl-zero-during-reassembly", 11, 1},
	{"ip-header-bad", 12, 0}, {"required-option-missing", 12, 1}, {"timestamp-request", 13, 0},
	{"timestamp-reply", 14, 0}, {"address-mask-request", 17, 0}, {"address-mask-reply", 18, 0},
}

type nameNum struct {
	name  string
	num   int
	proto string
}

var (
	dbOnce   sync.Once
	protoDB  []nameNum // /etc/protocols: names and aliases
	protoPri map[int]string
	servDB   []nameNum // /etc/services
)

func loadDBs() {
	protoPri = map[int]string{}
	etcdb.Each("/etc/protocols", func(fs []string) {
		n, err := strconv.Atoi(fs[1])
		if err != nil {
			return
		}
		if _, ok := protoPri[n]; !ok {
			protoPri[n] = fs[0]
		}
		protoDB = append(protoDB, nameNum{name: fs[0], num: n})
		for _, a := range fs[2:] {
			protoDB = append(protoDB, nameNum{name: a, num: n})
		}
	})
	etcdb.Each("/etc/services", func(fs []string) {
		pp := strings.SplitN(fs[1], "/", 2)
		if len(pp) != 2 {
			return
		}
		n, err := strconv.Atoi(pp[0])
		if err != nil {
			return
		}
		for _, nm := range append([]string{fs[0]}, fs[2:]...) {
			servDB = append(servDB, nameNum{name: nm, num: n, proto: pp[1]})
		}
	})
}

// protoName is getprotobynumber's name, or the number.
func protoName(p uint8) string {
	dbOnce.Do(loadDBs)
	if n, ok := protoPri[int(p)]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// sepIndex is ipset_strchr: the first sep not at the start or end.
func sepIndex(s string, sep byte) int {
	if s == "" || s[0] == sep || s[len(s)-1] == sep {
		return -1
	}
	return strings.IndexByte(s, sep)
}

// numErr is string_to_number_ll's message for a failed number.
func numErr(s string, max uint64) (uint64, string) {
	v, err := parseUint(s, max)
	if err != nil {
		return 0, err.Error()
	}
	return v, ""
}

func isU8(s string) bool { _, e := numErr(s, 255); return e == "" }

// parsePort is ipset_parse_port: a number or a service of proto.
func parsePort(s, proto string) (uint16, error) {
	v, e := numErr(s, 65535)
	if e == "" {
		return uint16(v), nil
	}
	dbOnce.Do(loadDBs)
	for _, x := range servDB {
		if x.name == s && x.proto == proto {
			return uint16(x.num), nil
		}
	}
	m := e
	if !isU8(proto) {
		m += "\nSyntax error: '" + proto + "' is invalid as number"
	}
	// The messages are warnings ipset_parse_port turns into the error
	// (ipset_session_warning_as_error): a restore prints them without
	// "Error in line N: ".
	return 0, &Error{Msg: m + "\ncannot parse '" + s + "' as a " + proto + " port", Status: 1, NoLine: true}
}

// parsePortRange is ipset_parse_tcpudp_port: PORT or PORT-PORT (the
// second parsed first).
func parsePortRange(s, proto string) (from, to uint16, hasTo bool, err error) {
	if j := sepIndex(s, '-'); j >= 0 {
		if to, err = parsePort(s[j+1:], proto); err != nil {
			return
		}
		hasTo = true
		s = s[:j]
	}
	from, err = parsePort(s, proto)
	return
}

func parseICMP(s string) (uint16, error) { return parseICMPNames(s, icmpNames, "ICMP") }

func parseICMPv6(s string) (uint16, error) { return parseICMPNames(s, icmpv6Names, "ICMPv6") }

func parseICMPNames(s string, names []icmpName, what string) (uint16, error) {
	for _, n := range names {
		if strings.HasPrefix(n.name, s) {
			return uint16(n.typ)<<8 | uint16(n.code), nil
		}
	}
	j := sepIndex(s, '/')
	if j < 0 {
		return 0, kerr("Cannot parse " + s + " as an " + what + " type/code.")
	}
	t, e := numErr(s[:j], 255)
	if e != "" {
		return 0, kerr(e)
	}
	c, e := numErr(s[j+1:], 255)
	if e != "" {
		return 0, kerr(e)
	}
	return uint16(t)<<8 | uint16(c), nil
}

// familyProtoErr is ipset_parse_proto_port's ICMP protocol of the other
// family: reported, but not a failure of the parse (parseElem goes on).
type familyProtoErr struct{ msg string }

func (e *familyProtoErr) Error() string { return e.msg }

// parseProtoPort is ipset_parse_proto_port: [PROTO:]PORT[-PORT].
func parseProtoPort(s, cmd string, v6 bool) (proto uint8, from, to uint16, hasTo bool, err error) {
	j := sepIndex(s, ':')
	if j < 0 {
		from, to, hasTo, err = parsePortRange(s, "tcp")
		return 6, from, to, hasTo, err
	}
	ps, port := s[:j], s[j+1:]
	if v, e := numErr(ps, 255); e == "" {
		proto = uint8(v)
	} else {
		dbOnce.Do(loadDBs)
		n := ps
		if strings.EqualFold(ps, "icmpv6") {
			n = "ipv6-icmp"
		}
		found := false
		for _, x := range protoDB {
			if x.name == n {
				proto, found = uint8(x.num), true
				break
			}
		}
		if !found {
			return 0, 0, 0, false, syntaxf("cannot parse '%s' as a protocol", ps)
		}
		if proto == 0 {
			return 0, 0, 0, false, syntaxf("Unsupported protocol '%s'", ps)
		}
	}
	switch proto {
	case 6, 17, 132, 136:
		from, to, hasTo, err = parsePortRange(port, ps)
	case 1:
		if v6 {
			err = &familyProtoErr{"Syntax error: Protocol ICMP can be used with family inet only"}
			return
		}
		from, err = parseICMP(port)
	case 58:
		if !v6 {
			err = &familyProtoErr{"Syntax error: Protocol ICMPv6 can be used with family inet6 only"}
			return
		}
		from, err = parseICMPv6(port)
	default:
		if port != "0" {
			err = syntaxf("Protocol %s can be used with pseudo port value 0 only.", ps)
		}
	}
	return
}

// portText is the listing form of proto:port.
func portText(b *strings.Builder, proto uint8, port uint16) {
	b.WriteString(protoName(proto))
	b.WriteByte(':')
	if proto == 1 || proto == 58 {
		names := icmpNames
		if proto == 58 {
			names = icmpv6Names
		}
		t, c := uint8(port>>8), uint8(port)
		for _, n := range names {
			if n.typ == t && n.code == c {
				b.WriteString(n.name)
				return
			}
		}
		b.WriteString(strconv.Itoa(int(t)) + "/" + strconv.Itoa(int(c)))
		return
	}
	b.WriteString(strconv.Itoa(int(port)))
}

func sortBy(x []int32, less func(a, b int32) bool) {
	sort.SliceStable(x, func(i, j int) bool { return less(x[i], x[j]) })
}
