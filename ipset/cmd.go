package ipset

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// Command is one parsed ipset command line.
type Command struct {
	Name    string   // create, add, del, test, destroy, list, save, restore, flush, rename, swap, help, version
	Args    []string // positional words after the command (set names, element, options)
	Exist   bool
	Quiet   bool
	Output  int
	HasOut  bool
	Sorted  bool
	Resolve bool
	NameO   bool
	Terse   bool
	File    string
}

var cmdWords = map[string]string{
	"create": "create", "n": "create", "-N": "create",
	"add": "add", "-A": "add", "del": "del", "-D": "del", "test": "test", "-T": "test",
	"destroy": "destroy", "x": "destroy", "-X": "destroy", "list": "list", "-L": "list",
	"save": "save", "-S": "save", "restore": "restore", "-R": "restore", "flush": "flush", "-F": "flush",
	"rename": "rename", "e": "rename", "-E": "rename", "swap": "swap", "w": "swap", "-W": "swap",
	"help": "help", "-H": "help", "-h": "help", "-help": "help", "--help": "help",
	"version": "version", "-V": "version", "-v": "version", "-version": "version", "--version": "version",
	"quit": "quit",
}

// ParseCommand parses a command line (without the program name).
func ParseCommand(args []string) (*Command, error) {
	c := &Command{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			o := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
			switch o {
			case "!", "exist":
				c.Exist = true
				continue
			case "q", "quiet":
				c.Quiet = true
				continue
			case "s", "sorted":
				c.Sorted = true
				continue
			case "n", "name":
				if c.Name != "" || a != "-n" {
					c.NameO = true
					continue
				}
			case "t", "terse":
				c.Terse = true
				continue
			case "r", "resolve":
				c.Resolve = true
				continue
			case "o", "output", "f", "file":
				if i+1 >= len(args) {
					// parse_envopts names the option by its first name
					return nil, perrf("Missing mandatory argument to option -%c", o[0])
				}
				i++
				if o[0] == 'f' {
					c.File = args[i]
					continue
				}
				switch args[i] {
				case "plain":
					c.Output = OutPlain
				case "save":
					c.Output = OutSave
				case "xml":
					c.Output = OutXML
				default:
					return nil, syntaxf("unknown output mode '%s'", args[i])
				}
				c.HasOut = true
				continue
			}
		}
		if c.Name == "" {
			w, ok := cmdWords[a]
			if !ok {
				return nil, perrf("No command specified: unknown argument %s", a)
			}
			c.Name = w
			continue
		}
		c.Args = append(c.Args, a)
	}
	if c.Name == "" {
		return nil, perrf("No command specified.")
	}
	return c, nil
}

func parseUint(s string, max uint64) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		if strings.HasPrefix(s, "-") {
			if _, e2 := strconv.ParseInt(s, 0, 64); e2 == nil {
				return 0, syntaxf("'%s' is out of range 0-%d", s, max)
			}
		}
		return 0, syntaxf("'%s' is invalid as number", s)
	}
	if v > max {
		return 0, syntaxf("'%s' is out of range 0-%d", s, max)
	}
	return v, nil
}

func checkSetName(n string) error {
	if len(n) > maxSetNameLength {
		return syntaxf("setname '%s' is longer than %d characters", n, maxSetNameLength)
	}
	return nil
}

// typeAliases are the old names libipset still accepts.
var typeAliases = map[string]string{
	"iphash": TypeHashIP, "nethash": TypeHashNet, "ipporthash": TypeHashIPPort,
	"portmap": TypeBitmapPort, "ipmap": TypeBitmapIP,
	"ipportiphash": TypeHashIPPortIP, "ipportnethash": TypeHashIPPortNet,
	"setlist": TypeListSet, "macipmap": TypeBitmapIPMAC, "netifacehash": TypeHashNetIface, "machash": TypeHashMAC,
}

// unsupportedTypes are the kernel's other set types, which nfgo does not
// implement.
var unsupportedTypes = map[string]bool{
	"hash:ip,mac":  true,
	"hash:net,net": true,
	"hash:ip,mark": true, "hash:net,port,net": true,
}

// createArgs lists the create options of each type (the .args of its
// libipset type's IPSET_CREATE command).
var createArgs = map[string]string{
	TypeHashIP:        " family hashsize maxelem netmask bitmask timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeHashNet:       " family hashsize maxelem timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeHashIPPort:    " family hashsize maxelem netmask bitmask timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeHashNetPort:   " family hashsize maxelem timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeHashIPPortIP:  " family hashsize maxelem timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeHashIPPortNet: " family hashsize maxelem timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeBitmapPort:    " range timeout counters comment skbinfo ",
	TypeBitmapIP:      " range netmask timeout counters comment skbinfo from to network ",
	TypeListSet:       " size timeout counters comment skbinfo ",
	TypeBitmapIPMAC:   " range timeout counters comment skbinfo from to network ",
	TypeHashNetIface:  " family hashsize maxelem timeout counters comment forceadd skbinfo bucketsize initval ",
	TypeHashMAC:       " hashsize maxelem timeout counters comment forceadd skbinfo bucketsize initval ",
}

// createOpt is the libipset data option an argument sets: a second
// argument setting the same one is "already specified".
var createOpt = map[string]string{
	"range": "ip", "from": "ip", "network": "ip", "to": "ip_to", "family": "family", "hashsize": "hashsize",
	"maxelem": "maxelem", "netmask": "netmask", "timeout": "timeout", "bucketsize": "bucketsize", "initval": "initval",
	"size": "size", "bitmask": "bitmask",
}

// parseNetmask is ipset_parse_netmask's string_to_cidr (1-32).
func parseNetmask(v string, max uint64) (uint8, error) {
	r := "1-" + strconv.FormatUint(max, 10)
	tail := "Syntax error: netmask is out of the inclusive range of " + r
	n, err := strconv.ParseUint(v, 0, 8)
	if err != nil || n < 1 || n > max {
		// two reports: a restore keeps the second
		if err != nil && !isNum(v) {
			return 0, &Error{Msg: "Syntax error: '" + v + "' is invalid as number\n" + tail, Status: 1, LineMsg: tail}
		}
		return 0, &Error{Msg: "Syntax error: '" + v + "' is out of range " + r + "\n" + tail, Status: 1, LineMsg: tail}
	}
	return uint8(n), nil
}

// parseBitmask is ipset_parse_bitmask: an address of the set's family
// (inet unless named), whose failure gets a second report.
func parseBitmask(o *Options, v string, inet6 bool) error {
	fail := func(err error) error {
		tail := "Syntax error: bitmask is not valid for family = inet"
		if inet6 {
			tail += "6"
		}
		return &Error{Msg: err.Error() + "\n" + tail, Status: 1, LineMsg: tail}
	}
	if inet6 {
		a, ok := parseIPv6(v)
		if !ok {
			return fail(syntaxf("cannot parse %s: resolving to IPv6 address failed", v))
		}
		o.Bitmask = a
	} else {
		var e elemSpec
		if err := parseIPPart(&e, v); err != nil {
			return fail(err)
		}
		o.Bitmask = [16]byte{}
		binary.BigEndian.PutUint32(o.Bitmask[:4], e.ip)
	}
	o.HasBitmask = true
	return nil
}

// netmaskMax is the netmask's upper bound: 128 in a create naming the
// inet6 family.
func netmaskMax(args []string) uint64 {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "family" && (args[i+1] == "inet6" || args[i+1] == "ipv6") {
			return 128
		}
	}
	return 32
}

// ipRange is what the range, from, to and network arguments of the IP
// bitmaps give: the address, and the end address or the prefix length.
type ipRange struct {
	ip, to       uint32
	cidr         uint8
	hasIP, hasTo bool
	hasCidr      bool
}

func (r *ipRange) parse(a, v string) error {
	var e elemSpec
	switch a {
	case "range":
		if sepIndex(v, '-') < 0 && sepIndex(v, '/') < 0 {
			return syntaxf("IP/cidr or IP-IP range must be specified: %s", v)
		}
	case "from", "to":
		if sepIndex(v, '-') >= 0 || (sepIndex(v, '/') >= 0 && !strings.HasSuffix(v, "/32")) {
			return syntaxf("plain IP address must be supplied: %s", v)
		}
	case "network":
		if sepIndex(v, '/') < 0 || sepIndex(v, '-') >= 0 {
			return syntaxf("IP/netblock must be supplied: %s", v)
		}
	}
	if err := parseIPPart(&e, v); err != nil {
		return err
	}
	if a == "to" {
		r.to, r.hasTo = e.ip, true
		return nil
	}
	r.ip, r.hasIP = e.ip, true
	if e.hasTo {
		r.to, r.hasTo = e.to, true
	}
	if e.hasCidr {
		r.cidr, r.hasCidr = e.cidr, true
	}
	return nil
}

// parseCreate parses "TYPE [options]" and makes the type's kernel checks
// of bitmap_*_create; it returns the canonical type name.
func parseCreate(typ string, args []string, state bool) (string, Options, error) {
	var o Options
	if t, ok := typeAliases[typ]; ok {
		typ = t
	}
	allowed, ok := createArgs[typ]
	if unsupportedTypes[typ] {
		return typ, o, kerrf("nfgo: set type %s is not supported", typ)
	}
	if !ok {
		return typ, o, syntaxf("typename '%s' is unknown", typ)
	}
	// call_parser's first pass parses the family only, but meets the
	// unknown arguments and the missing values first
	famSeen := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.Contains(allowed, " "+a+" ") {
			return typ, o, perrf("Unknown argument: `%s'", a)
		}
		if _, ok := createOpt[a]; ok {
			if i+1 >= len(args) {
				return typ, o, perrf("Missing mandatory argument of option `%s'", a)
			}
			i++
			if a == "family" {
				if famSeen {
					return typ, o, syntaxf("family already specified")
				}
				if v := args[i]; v != "inet" && v != "ipv4" && v != "inet6" && v != "ipv6" {
					return typ, o, syntaxf("unknown inet family %s", v)
				}
				famSeen = true
			}
		}
	}
	seen := map[string]bool{}
	hasRange := false
	var ipr ipRange
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.Contains(allowed, " "+a+" ") {
			return typ, o, perrf("Unknown argument: `%s'", a)
		}
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", perrf("Missing mandatory argument of option `%s'", a)
			}
			i++
			return args[i], nil
		}
		if opt, ok := createOpt[a]; ok {
			if i+1 >= len(args) {
				return typ, o, perrf("Missing mandatory argument of option `%s'", a)
			}
			if seen[opt] || (opt == "ip_to" && ipr.hasTo) {
				return typ, o, syntaxf("%s already specified", a)
			}
			seen[opt] = true
			if opt == "ip" || opt == "ip_to" {
				if typ != TypeBitmapPort {
					i++
					if err := ipr.parse(a, args[i]); err != nil {
						return typ, o, err
					}
					continue
				}
			}
		}
		switch a {
		case "range":
			v, err := val()
			if err != nil {
				return typ, o, err
			}
			from, to, hasTo, err := parsePortRange(v, "tcp")
			if err != nil {
				return typ, o, err
			}
			if !hasTo {
				return typ, o, perrf("Mandatory option `to' is missing")
			}
			if to < from {
				from, to = to, from
			}
			o.PortFrom, o.PortTo, hasRange = from, to, true
		case "family":
			v, err := val()
			if err != nil {
				return typ, o, err
			}
			switch v {
			case "inet", "ipv4":
				o.Family = "inet"
			case "inet6", "ipv6":
				o.Family = "inet6"
			default:
				return typ, o, syntaxf("unknown inet family %s", v)
			}
		case "netmask":
			v, err := val()
			if err != nil {
				return typ, o, err
			}
			if o.HasBitmask {
				return typ, o, syntaxf("bitmask and netmask are mutually exclusive, provide only one")
			}
			n, err := parseNetmask(v, netmaskMax(args))
			if err != nil {
				return typ, o, err
			}
			o.Netmask = n
		case "bitmask":
			v, err := val()
			if err != nil {
				return typ, o, err
			}
			if o.Netmask != 0 {
				return typ, o, syntaxf("bitmask and netmask are mutually exclusive, provide only one")
			}
			if err := parseBitmask(&o, v, netmaskMax(args) == 128); err != nil {
				return typ, o, err
			}
		case "hashsize", "maxelem", "timeout", "bucketsize", "initval", "size":
			v, err := val()
			if err != nil {
				return typ, o, err
			}
			limit := uint64(0xffffffff)
			switch a {
			case "timeout":
				limit = MaxTimeout
			case "bucketsize":
				limit = 255
			}
			n, err := parseUint(v, limit)
			if err != nil {
				return typ, o, err
			}
			switch a {
			case "hashsize":
				// the kernel raises a hashsize given below the minimum,
				// 0 included
				o.Hashsize = max(uint32(n), minimalHashsize)
			case "maxelem":
				o.Maxelem, o.HasMaxelem = uint32(n), true
			case "timeout":
				o.Timeout, o.HasTimeout = uint32(n), true
			case "bucketsize":
				o.BucketSize = max(uint8(n), ahashInitSize) // 0 given is 2
			case "initval":
				o.InitVal, o.HasInitVal = uint32(n), true
			case "size":
				o.Size, o.HasSize = uint32(n), true
			}
		case "counters":
			o.Counters = true
		case "comment":
			o.Comment = true
		case "skbinfo":
			o.SkbInfo = true
		case "forceadd":
			o.ForceAdd = true
		}
	}
	if o.HasBitmask && o.Bitmask == ([16]byte{}) {
		return typ, o, kerr("The value of the netmask parameter is invalid") // hash_ip_create
	}
	switch typ {
	case TypeBitmapPort:
		if !hasRange {
			return typ, o, perrf("Mandatory option `range' is missing")
		}
	case TypeBitmapIP, TypeBitmapIPMAC:
		if !ipr.hasIP {
			return typ, o, perrf("Mandatory option `range' is missing")
		}
		if !ipr.hasTo && !ipr.hasCidr {
			return typ, o, perrf("Mandatory option `to' is missing")
		}
		if err := ipr.create(&o); err != nil {
			return typ, o, err
		}
	}
	return typ, o, nil
}

// create is bitmap_ip_create's range checks: the range (a FROM-TO range
// wins over a prefix), widened to the netmask, must fit the bitmap.
func (r *ipRange) create(o *Options) error {
	first, last := r.ip, r.to
	if r.hasTo {
		if first > last {
			first, last = last, first
		}
	} else {
		if r.cidr >= 32 {
			return errCidr
		}
		first &= mask(r.cidr)
		last = first | ^mask(r.cidr)
	}
	first, last, _, _, err := bitmapIPGeometry(first, last, o.Netmask)
	if err != nil {
		return err
	}
	o.IPFrom, o.IPTo = first, last
	return nil
}

func isNum(s string) bool {
	_, err := strconv.ParseInt(s, 0, 64)
	return err == nil
}

// parseIPv4 is gethostbyname2(AF_INET) on a numeric name: glibc takes a
// name of digits and dots not ending in a dot as inet_aton does (1 to 4
// parts, the last filling the bytes left, each part decimal or, with a
// leading 0, octal), so 10.1 is 10.0.0.1 and 010.0.0.1 is 8.0.0.1. Host
// names are not resolved.
func parseIPv4(s string) (uint32, bool) {
	if s == "" || s[len(s)-1] == '.' || strings.Trim(s, "0123456789.") != "" {
		return 0, false
	}
	fs := strings.Split(s, ".")
	if len(fs) > 4 {
		return 0, false
	}
	var ip uint32
	for i, f := range fs {
		base := 10
		if len(f) > 1 && f[0] == '0' {
			base = 8
		}
		v, err := strconv.ParseUint(f, base, 32)
		if err != nil || (i < len(fs)-1 && v > 0xff) {
			return 0, false
		}
		if i == len(fs)-1 {
			if bits := 8 * uint(4-i); bits < 32 && v >= 1<<bits {
				return 0, false
			}
			return ip | uint32(v), true
		}
		ip |= uint32(v) << (24 - 8*uint(i))
	}
	return ip, true
}

// elemSpec is a parsed ENTRY: from-to range or ip/cidr.
type elemSpec struct {
	ip, to    uint32
	cidr      uint8
	hasCidr   bool
	hasTo     bool
	proto     uint8
	port      uint16
	portTo    uint16
	hasPortTo bool
	// the third part of hash:ip,port,ip and hash:ip,port,net
	ip2, ip2To  uint32
	cidr2       uint8
	hasCidr2    bool
	hasIP2To    bool
	testNomatch bool // test ... nomatch (the net types)
	x           Elem
	expires     int64 // state files
	hasExp      bool
	// list:set: the member's name, the before/after reference
	name, ref         string
	hasRef, refBefore bool
	ether             []byte // bitmap:ip,mac: the MAC, nil if not given
	// hash:net,iface: the interface, "physdev:" given, "wildcard" given
	iface             string
	physdev, wildcard bool
	plain             uint32 // state files: an unfilled element's timeout
}

// parseHostPart / parseNetPart parse an element's address part: for
// inet sets IP, IP/CIDR or FROM-TO; for inet6 sets (ipset_parse_single_ip6
// and ipset_parse_ip4_net6) a plain address, or an address with a prefix
// length for the net types.
func (s *Set) parseHostPart(e *elemSpec, a string) error {
	if !s.isV6() {
		return parseIPPart(e, a)
	}
	// ipset_parse_single_ip: a prefix is allowed when it is "/128"
	// (cidr_hostaddr), and then sent as the CIDR
	j := sepIndex(a, '/')
	if (j >= 0 && a[j:] != "/128") || sepIndex(a, '-') >= 0 {
		return syntaxf("plain IP address must be supplied: %s", a)
	}
	if j >= 0 {
		e.cidr, e.hasCidr = 128, true
		a = a[:j]
	}
	return s.parseAddr6(e, a)
}

func (s *Set) parseNetPart(e *elemSpec, a string) error {
	if !s.isV6() {
		return parseIPPart(e, a)
	}
	if sepIndex(a, '-') >= 0 {
		return syntaxf("IP address or IP/cidr must be specified: %s", a)
	}
	if j := sepIndex(a, '/'); j >= 0 {
		n, err := parseUint(a[j+1:], 128)
		if err != nil {
			return err
		}
		if err := s.parseAddr6(e, a[:j]); err != nil {
			return err
		}
		e.cidr, e.hasCidr = uint8(n), true
		return nil
	}
	return s.parseAddr6(e, a)
}

func (s *Set) parseAddr6(e *elemSpec, a string) error {
	x, ok := parseIPv6(a)
	if !ok {
		return syntaxf("cannot parse %s: resolving to IPv6 address failed", a)
	}
	e.ip = s.a6.intern(x)
	return nil
}

func parseIPPart(e *elemSpec, a string) error {
	ip, to, c, hasTo, hasCidr, err := parseAddr(a)
	if err != nil {
		return err
	}
	e.ip, e.to, e.hasTo = ip, to, hasTo
	if hasCidr {
		e.cidr, e.hasCidr = c, true
	}
	return nil
}

// parseAddr is libipset's parse_ipaddr: IP, IP/CIDR (the prefix parsed
// first, base 0) or IP-IP, the separators found as ipset_strchr finds
// them (not at the start or the end of the word).
func parseAddr(a string) (ip, to uint32, cidr uint8, hasTo, hasCidr bool, err error) {
	ipPart, toPart := a, ""
	if j := sepIndex(a, '/'); j >= 0 {
		ipPart = a[:j]
		n, err := parseUint(a[j+1:], 32)
		if err != nil {
			return 0, 0, 0, false, false, err
		}
		cidr, hasCidr = uint8(n), true
	} else {
		j, err := rangeSep(a)
		if err != nil {
			return 0, 0, 0, false, false, err
		}
		if j >= 0 {
			ipPart, toPart, hasTo = a[:j], a[j+1:], true
		}
	}
	// parse_ipaddr: the first address, then the second
	if ip, err = parseIPv4Word(ipPart); err != nil || !hasTo {
		return ip, 0, cidr, false, hasCidr, err
	}
	if to, err = parseIPv4Word(toPart); err != nil {
		return 0, 0, 0, false, false, err
	}
	return ip, to, 0, true, false, nil
}

// rangeSep is find_range_separator: the '-' of IP-IP (-1: none); an
// address in [ ] (a name holding '-') must be followed by it.
func rangeSep(a string) (int, error) {
	if !strings.HasPrefix(a, "[") {
		return sepIndex(a, '-'), nil
	}
	k := strings.IndexByte(a, ']')
	switch {
	case k < 0:
		return 0, syntaxf("cannot find closing escape character ']' in %s", a)
	case k == len(a)-1:
		return -1, nil
	case a[k+1] != '-':
		return 0, syntaxf("range separator expected after '%s'", a[:k+1])
	}
	return k + 1, nil
}

// parseIPv4Word is strip_escape and gethostbyname2 on one address.
func parseIPv4Word(a string) (uint32, error) {
	if strings.HasPrefix(a, "[") {
		if !strings.HasSuffix(a[1:], "]") {
			return 0, syntaxf("cannot find closing escape character ']' in %s", a)
		}
		a = a[1 : len(a)-1]
	}
	ip, ok := parseIPv4(a)
	if !ok {
		return 0, syntaxf("cannot parse %s: resolving to IPv4 address failed", a)
	}
	return ip, nil
}

// parseIP2 parses the third part: hash:ip,port,ip takes a plain address
// (ipset_parse_single_ip: "/32" passes here), hash:ip,port,net an
// address, IP/CIDR or a range.
func (s *Set) parseIP2(e *elemSpec, a string, inet bool) error {
	if s.isV6() && !inet {
		var x elemSpec
		var err error
		if s.Type == TypeHashIPPortIP {
			err = s.parseHostPart(&x, a)
		} else {
			err = s.parseNetPart(&x, a)
		}
		e.ip2, e.cidr2, e.hasCidr2 = x.ip, x.cidr, x.hasCidr
		return err
	}
	if s.Type == TypeHashIPPortIP {
		if j := sepIndex(a, '/'); sepIndex(a, '-') >= 0 || (j >= 0 && a[j:] != "/32") {
			return syntaxf("plain IP address must be supplied: %s", a)
		}
	}
	ip, to, c, hasTo, hasCidr, err := parseAddr(a)
	if err != nil {
		return err
	}
	e.ip2, e.ip2To, e.hasIP2To = ip, to, hasTo
	if hasCidr {
		e.cidr2, e.hasCidr2 = c, true
	}
	return nil
}

func parseElem(s *Set, cmd string, args []string, state bool) (_ *elemSpec, err error) {
	e := &elemSpec{}
	a := args[0]
	// ipset_parse_proto_port reports an ICMP protocol of the other family
	// but returns success: the options are parsed on (their errors
	// follow the report, a restore keeping only the last), and the
	// command then fails for want of the data the report reset.
	var soft string
	defer func() {
		if soft == "" {
			return
		}
		x, _ := err.(*Error)
		switch {
		case x != nil && x.Status == 2:
			// custom_error replaces the report
		case x != nil:
			err = &Error{Msg: soft + "\n" + x.Msg, Status: x.Status, LineMsg: x.Msg}
		case cmd == "del" || (cmd == "test" && !s.isNet()):
			// check_mandatory, for a command that takes no options
			err = &Error{Msg: "There are missing mandatory flags but can't check them. It's a bug, please report the problem.",
				Status: 1, NoLine: true}
		default:
			m := "Invalid " + cmd + " command: missing setname"
			err = &Error{Msg: soft + "\n" + m, Status: 1, LineMsg: m, Sent: true}
		}
	}()
	// ipset_parse_elem: split into the type's parts, then parse them in
	// order.
	dim := s.Dimension()
	part1, part2, part3 := a, "", ""
	if s.isList() {
		if err := parseListElem(e, a); err != nil {
			return nil, err
		}
	} else if s.Type == TypeBitmapIPMAC {
		// last_elem_optional: IP[,MAC]
		if j := sepIndex(a, ','); j >= 0 {
			part1, part2 = a[:j], a[j+1:]
			if sepIndex(part2, ',') >= 0 {
				return nil, syntaxf("Two elem separators in %s, but settype %s supports one.", a, s.Type)
			}
		}
	} else if j := sepIndex(a, ','); dim > 1 {
		if j < 0 {
			return nil, syntaxf("Second element is missing from %s.", a)
		}
		part1, part2 = a[:j], a[j+1:]
		k := sepIndex(part2, ',')
		if dim > 2 {
			if k < 0 {
				return nil, syntaxf("Third element is missing from %s.", a)
			}
			part2, part3 = part2[:k], part2[k+1:]
			if sepIndex(part3, ',') >= 0 {
				return nil, syntaxf("Three elem separators in %s, but settype %s supports two.", a, s.Type)
			}
		} else if k >= 0 {
			return nil, syntaxf("Two elem separators in %s, but settype %s supports one.", a, s.Type)
		}
	} else if j >= 0 {
		return nil, syntaxf("Elem separator in %s, but settype %s supports none.", a, s.Type)
	}
	switch {
	case s.isList():
	case s.Type == TypeBitmapIPMAC:
		// ipset_parse_single_ip, ipset_parse_ether
		if j := sepIndex(part1, '/'); sepIndex(part1, '-') >= 0 || (j >= 0 && part1[j:] != "/32") {
			return nil, syntaxf("plain IP address must be supplied: %s", part1)
		}
		if err := parseIPPart(e, part1); err != nil {
			return nil, err
		}
		if part2 != "" {
			if e.ether, err = parseEther(part2); err != nil {
				return nil, err
			}
		}
	case s.Type == TypeHashMAC:
		m, err := parseEther(a)
		if err != nil {
			return nil, err
		}
		e.ip, e.port = macKey(m)
	case s.Type == TypeHashNetIface:
		// ipset_parse_ip4_net6, ipset_parse_iface
		if err := s.parseNetPart(e, part1); err != nil {
			return nil, err
		}
		e.iface = part2
		if len(part2) >= len("physdev:") && part2[:len("physdev:")] == "physdev:" {
			e.iface, e.physdev = part2[len("physdev:"):], true
		}
		if len(e.iface) > 15 {
			return nil, syntaxf("interface name '%s' is longer than 15 characters", e.iface)
		}
	case s.Type == TypeBitmapPort:
		// ipset_parse_tcp_udp_port
		if e.proto, e.port, e.portTo, e.hasPortTo, err = parseProtoPort(a, cmd, false); err != nil {
			var fe *familyProtoErr
			if errors.As(err, &fe) {
				// (ipset itself crashes here)
				err = kerr(fe.msg + "\nInvalid " + cmd + " command: missing setname")
			}
			return nil, err
		}
		if e.proto != 6 && e.proto != 17 {
			return nil, syntaxf("Only protocols TCP and UDP are valid")
		}
		e.proto = 0
	case s.hasPort():
		if s.netOnIP() {
			err = s.parseNetPart(e, part1)
		} else {
			err = s.parseHostPart(e, part1)
		}
		if err != nil {
			return nil, err
		}
		if e.proto, e.port, e.portTo, e.hasPortTo, err = parseProtoPort(part2, cmd, s.isV6()); err != nil {
			var fe *familyProtoErr
			if !errors.As(err, &fe) {
				return nil, err
			}
			soft, err = fe.msg, nil
		}
		if !protoWithPorts(e.proto) {
			e.hasPortTo = false
			if e.proto != 1 && e.proto != 58 {
				e.port = 0
			}
		}
		if dim > 2 {
			// after a soft error the report reset the data's family,
			// which the part's parser then takes as inet
			if err := s.parseIP2(e, part3, soft != ""); err != nil {
				return nil, err
			}
		}
	case s.netOnIP():
		if err := s.parseNetPart(e, a); err != nil {
			return nil, err
		}
	default:
		if err := s.parseHostPart(e, a); err != nil {
			return nil, err
		}
	}
	rest := args[1:]
	// ipset_call_parser: an option with a value given twice is refused
	// when met the second time, before its value is parsed (the flags
	// nomatch and wildcard may repeat; before and after, one option that
	// the element may already name, are checked below).
	seen := map[string]bool{}
	for i := 0; i < len(rest); i++ {
		o := rest[i]
		val := func() (string, error) {
			if i+1 >= len(rest) {
				return "", perrf("Missing mandatory argument of option `%s'", o)
			}
			i++
			if seen[o] && o != "before" && o != "after" {
				return "", syntaxf("%s already specified", o)
			}
			seen[o] = true
			return rest[i], nil
		}
		switch {
		case o == "timeout" && cmd == "add":
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := parseUint(v, MaxTimeout)
			if err != nil {
				return nil, err
			}
			e.x.Timeout, e.x.HasTimeout = uint32(n), true
		case o == "nfgo-plain" && state:
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := parseUint(v, MaxTimeout)
			if err != nil {
				return nil, err
			}
			e.plain = uint32(n)
		case o == "nfgo-expires" && state:
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, syntaxf("'%s' is invalid as number", v)
			}
			e.expires, e.hasExp = n, true
		case (o == "packets" || o == "bytes") && cmd == "add":
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := parseUint(v, 1<<64-2) // ipset_parse_uint64: ULLONG_MAX - 1
			if err != nil {
				return nil, err
			}
			if o == "packets" {
				e.x.Packets, e.x.HasPackets = n, true
			} else {
				e.x.Bytes, e.x.HasBytes = n, true
			}
		case o == "comment" && cmd == "add":
			v, err := val()
			if err != nil {
				return nil, err
			}
			if strings.Contains(v, "\"") {
				return nil, syntaxf("\" character is not permitted in comments")
			}
			if len(v) > maxCommentSize {
				return nil, syntaxf("Comment is longer than the maximum allowed %d characters", maxCommentSize)
			}
			e.x.Comment, e.x.HasComment = v, true
		case (o == "skbmark" || o == "skbprio" || o == "skbqueue") && cmd == "add":
			v, err := val()
			if err != nil {
				return nil, err
			}
			if err := parseSkb(&e.x, o, v); err != nil {
				return nil, err
			}
		case (o == "before" || o == "after") && s.isList():
			v, err := val()
			if err != nil {
				return nil, err
			}
			if e.hasRef {
				return nil, syntaxf("%s already specified", o)
			}
			if err := checkSetName(v); err != nil {
				return nil, err
			}
			e.ref, e.hasRef, e.refBefore = v, true, o == "before"
		case o == "wildcard" && s.Type == TypeHashNetIface && cmd == "add":
			e.wildcard = true
		case o == "nomatch" && s.isNet() && cmd != "del":
			if cmd == "test" {
				e.testNomatch = true
			} else {
				e.x.NoMatch = true
			}
		default:
			return nil, perrf("Unknown argument: `%s'", o)
		}
	}
	return e, nil
}

// checkExt is the kernel's ip_set_get_extensions, in its order: the
// extensions an add names must be the set's.
func (s *Set) checkExt(e *elemSpec) error {
	switch {
	case e.x.HasTimeout && !s.Opts.HasTimeout:
		return kerr("Timeout cannot be used: set was created without timeout support")
	case (e.x.HasPackets || e.x.HasBytes) && !s.Opts.Counters:
		return kerr("Packet/byte counters cannot be used: set was created without counter support")
	case e.x.HasComment && !s.Opts.Comment:
		return kerr("Comment cannot be used: set was created without comment support")
	case e.x.HasSkb && !s.Opts.SkbInfo:
		return kerr("Skbinfo mapping cannot be used: set was created without skbinfo support")
	}
	return nil
}

// rangeToCidrs splits [from, to] into the largest aligned prefixes.
func rangeToCidrs(from, to uint32, fn func(ip uint32, c uint8) error) error {
	for {
		c := uint8(32)
		for c > 0 {
			nc := c - 1
			m := mask(nc)
			if from&^m != 0 || from|^m > to {
				break
			}
			c = nc
		}
		if err := fn(from, c); err != nil {
			return err
		}
		last := from | ^mask(c)
		if last >= to {
			return nil
		}
		from = last + 1
	}
}

// specKey is the element an add line of a state file names.
func (s *Set) specKey(e *elemSpec) elemKey {
	if s.Type == TypeBitmapPort {
		return elemKey{cidr: 32, port: e.port}
	}
	c := uint8(32)
	if s.netOnIP() {
		c = s.hostLen()
		if e.hasCidr {
			c = e.cidr
		}
	}
	k := elemKey{ip: e.ip, cidr: c, proto: e.proto, port: e.port, iface: e.iface, physdev: e.physdev, wildcard: e.wildcard}
	if s.hasIP2() {
		k.ip2 = e.ip2
		if s.Type == TypeHashIPPortNet {
			k.cidr = s.hostLen()
			if e.hasCidr2 {
				k.cidr = e.cidr2
			}
		}
	}
	return k
}

var errProto = kerr("Invalid protocol specified")

// specText is the element as the test messages print it.
func (s *Set) specText(e *elemSpec) string {
	var b strings.Builder
	if s.Type == TypeBitmapPort {
		return strconv.Itoa(int(e.port))
	}
	if s.isList() {
		return listSpecText(e)
	}
	if s.Type == TypeHashMAC {
		macText(&b, e.ip, e.port)
		return b.String()
	}
	if s.Type == TypeBitmapIPMAC {
		b.WriteString(ipString(e.ip))
		if e.ether != nil {
			b.WriteByte(',')
			etherString(&b, [6]byte(e.ether))
		}
		return b.String()
	}
	b.WriteString(s.ipText(e.ip))
	if e.hasCidr && e.cidr != s.hostLen() {
		b.WriteString("/" + strconv.Itoa(int(e.cidr)))
	}
	if s.Type == TypeHashNetIface {
		// the tool's message names the interface without "physdev:"
		b.WriteByte(',')
		b.WriteString(e.iface)
		return b.String()
	}
	if !s.hasPort() {
		return b.String()
	}
	b.WriteByte(',')
	portText(&b, e.proto, e.port)
	if s.hasIP2() {
		b.WriteByte(',')
		b.WriteString(s.ipText(e.ip2))
		if e.hasCidr2 && e.cidr2 != s.hostLen() {
			b.WriteString("/" + strconv.Itoa(int(e.cidr2)))
		}
	}
	return b.String()
}

var errHashRange = kerr("Invalid range, covers the whole address space")

// checkAllowed is the ipset tool's check_allowed: the parts of an element
// the command does not take for the set's type, in the order of libipset's
// options (IP_TO, CIDR, PORT_TO, then CIDR2 of hash:ip,port,ip, for which
// the tool has no message of its own). It is the tool's custom error: a
// restore prints it without the line number.
func (s *Set) checkAllowed(cmd string, e *elemSpec) error {
	fam := s.family()
	refuse := func(what string) error {
		return &Error{Msg: what + " is not allowed in command " + cmd + " with set type " + s.Type + " and family " + fam,
			Status: 1, NoLine: true}
	}
	if s.Type == TypeBitmapIPMAC && e.hasCidr {
		return refuse("IP/CIDR range")
	}
	if cmd == "test" && (s.hasPort() || s.isBitmap() || s.Type == TypeHashNetIface || s.Type == TypeHashNet) {
		if e.hasTo {
			return refuse("FROM-TO IP range")
		}
		if e.hasCidr && s.Type != TypeHashNetPort && s.Type != TypeHashNetIface && s.Type != TypeHashNet {
			return refuse("IP/CIDR range")
		}
		if e.hasPortTo {
			return refuse("FROM-TO port range")
		}
	}
	if s.Type == TypeHashIPPortIP && e.hasCidr2 {
		// IPSET_OPT_CIDR2 (28): add takes options, del and test none.
		m := "There are not allowed options (28) but option list is empty. It's a bug, please report the problem."
		if cmd == "add" {
			m = "There are not allowed options (28) but can't resolve them. It's a bug, please report the problem."
		}
		return &Error{Msg: m, Status: 1, NoLine: true}
	}
	return nil
}

var errCidr = kerr("The value of the CIDR parameter of the IP address is invalid")

// adt runs add/del of one element (the kernel's uadt loops over ranges:
// IPs outer, ports inner; the first failure ends the command, earlier
// elements staying).
func (s *Set) adt(cmd string, e *elemSpec, exist bool) error {
	one := func(k elemKey) error {
		var err error
		switch cmd {
		case "add":
			err = s.add(k, &e.x, exist)
			if err == nil && e.hasExp {
				if i := s.lookupExact(k); i >= 0 {
					s.entries[i].expires = e.expires
				}
			}
		case "del":
			err = s.del(k)
		}
		if exist && (err == errExist || err == errNotExist) {
			return nil
		}
		return err
	}
	if s.isList() {
		return s.listAdt(cmd, e, exist)
	}
	if s.Type == TypeBitmapIPMAC {
		var err error
		if cmd == "add" {
			err = s.ipmacAdd(e.ip, e.ether, &e.x, exist, s.now())
		} else {
			err = s.ipmacDel(e.ip, s.now())
		}
		if exist && (err == errExist || err == errNotExist) {
			return nil
		}
		return err
	}
	if s.Type == TypeHashIPPortNet && e.hasCidr2 && e.cidr2 == 0 {
		return errCidr // hash_ipportnet4_uadt checks CIDR2 before the protocol
	}
	if s.Type == TypeHashIPPort && s.nullMasked(e.ip) {
		return errInval // before the protocol check
	}
	if s.hasPort() && e.proto == 0 {
		return errProto
	}
	pfrom, pto := e.port, e.port
	if e.hasPortTo {
		pto = e.portTo
		if pto < pfrom {
			pfrom, pto = pto, pfrom
		}
	}
	ports := func(k elemKey) error {
		for p := pfrom; ; p++ {
			k.port = p
			if err := one(k); err != nil {
				return err
			}
			if p == pto {
				return nil
			}
		}
	}
	switch s.Type {
	case TypeBitmapPort:
		if !s.bmInRange(elemKey{port: pfrom}) || !s.bmInRange(elemKey{port: pto}) {
			return errRange
		}
		return ports(elemKey{cidr: 32})
	case TypeBitmapIP:
		return s.bitmapIPAdt(e, one)
	case TypeHashIPPortNet:
		return s.ipportnetAdt(e, one)
	case TypeHashMAC:
		k := elemKey{ip: e.ip, cidr: 32, port: e.port}
		if k.ip == 0 && k.port == 0 {
			return errNullElem
		}
		return one(k)
	case TypeHashNetIface:
		// hash_netiface4_uadt: /0 is allowed; without a FROM-TO range the
		// element is the one network, whatever its length.
		k := elemKey{cidr: s.hostLen(), iface: e.iface, physdev: e.physdev, wildcard: e.wildcard}
		if e.hasCidr {
			k.cidr = e.cidr
		}
		if !e.hasTo {
			k.ip = s.maskIntern(e.ip, k.cidr)
			return one(k)
		}
		from, to := e.ip, e.to
		if to < from {
			from, to = to, from
		}
		if from == 0 && to == 0xffffffff {
			return errHashRange
		}
		return rangeToCidrs(from, to, func(ip uint32, c uint8) error {
			k.ip, k.cidr = ip, c
			return one(k)
		})
	case TypeHashNet, TypeHashNetPort:
		c := s.hostLen()
		if e.hasCidr {
			c = e.cidr
			if c == 0 {
				return errCidr
			}
		}
		if s.isV6() {
			return ports(elemKey{ip: s.maskIntern(e.ip, c), cidr: c, proto: e.proto})
		}
		if !e.hasTo && !e.hasPortTo {
			return one(elemKey{ip: e.ip & mask(c), cidr: c, proto: e.proto, port: e.port})
		}
		from, to := e.ip&mask(c), e.ip|^mask(c)
		if e.hasTo {
			from, to = e.ip, e.to
			if to < from {
				from, to = to, from
			}
		}
		return rangeToCidrs(from, to, func(ip uint32, c uint8) error {
			return ports(elemKey{ip: ip, cidr: c, proto: e.proto})
		})
	}
	nm := s.netmask()
	if s.isV6() {
		// inet6 elements are single addresses (the port may be a range);
		// hash_ip6_uadt and hash_ipport6_uadt refuse :: (after the netmask)
		ip := s.hostMaskIntern(e.ip)
		if err := s.nullElem(ip); err != nil {
			return err
		}
		return ports(elemKey{ip: ip, ip2: e.ip2, cidr: 32, proto: e.proto})
	}
	// hash_ip4_uadt and hash_ipport4_uadt mask only the first address
	// given (refusing 0.0.0.0 after the mask); a range then runs from it
	// to the last address unmasked, hash:ip in steps of the netmask's
	// hosts, hash:ip,port address by address. A reversed range starts
	// from its (unmasked) last address.
	from := s.hostMaskIntern(e.ip)
	if err := s.nullElem(from); err != nil {
		return err
	}
	to := from
	if e.hasTo {
		to = e.to
		if from > to {
			if to == 0 && s.Type == TypeHashIP {
				return errNullElem
			}
			from, to = to, from
		}
	} else if e.hasCidr {
		if e.cidr == 0 {
			return errCidr
		}
		from &= mask(e.cidr)
		to = from | ^mask(e.cidr)
	}
	step := uint32(1)
	if s.Type == TypeHashIP {
		step <<= 32 - nm
	}
	for ip := from; ; ip += step {
		if err := ports(elemKey{ip: ip, ip2: e.ip2, cidr: 32, proto: e.proto}); err != nil {
			return err
		}
		if ip+step > to || ip+step == 0 {
			return nil
		}
	}
}

// errInval is the kernel's -EINVAL, which hash:ip,port returns for a
// null address.
var errInval = kerr("Kernel error received: Invalid argument")

// nullMasked tells whether the address is null under the set's netmask.
func (s *Set) nullMasked(ip uint32) bool {
	m, ok := s.hostMaskFind(ip)
	return ok && m == 0
}

// nullElem is the zero check of hash_ip*_uadt (Null-valued element) and
// hash_ipport*_uadt (-EINVAL) on the masked address; hash:ip,port,ip has
// none.
func (s *Set) nullElem(ip uint32) error {
	if ip != 0 {
		return nil
	}
	switch s.Type {
	case TypeHashIP:
		return errNullElem
	case TypeHashIPPort:
		return errInval
	}
	return nil
}

// ipportnetAdt is hash_ipportnet4_uadt's add/del: one element unless a
// range is given (the first address as FROM-TO or IP/CIDR, a port range,
// the third part as FROM-TO); ranges are walked address, port, then the
// third part split into prefixes (a third part given as IP/CIDR is one
// prefix).
func (s *Set) ipportnetAdt(e *elemSpec, one func(elemKey) error) error {
	c2 := s.hostLen()
	if e.hasCidr2 {
		c2 = e.cidr2
	}
	if s.isV6() {
		pfrom, pto := e.port, e.port
		if protoWithPorts(e.proto) && e.hasPortTo {
			pto = e.portTo
			if pfrom > pto {
				pfrom, pto = pto, pfrom
			}
		}
		ip2 := s.maskIntern(e.ip2, c2)
		for p := pfrom; ; p++ {
			if err := one(elemKey{ip: e.ip, ip2: ip2, cidr: c2, proto: e.proto, port: p}); err != nil || p == pto {
				return err
			}
		}
	}
	withPorts := protoWithPorts(e.proto) && e.hasPortTo
	if !e.hasCidr && !e.hasTo && !withPorts && !e.hasIP2To {
		return one(elemKey{ip: e.ip, ip2: e.ip2 & mask(c2), cidr: c2, proto: e.proto, port: e.port})
	}
	from, to := e.ip, e.ip
	if e.hasTo {
		to = e.to
		if from > to {
			from, to = to, from
		}
	} else if e.hasCidr {
		if e.cidr == 0 {
			return errCidr
		}
		from &= mask(e.cidr)
		to = from | ^mask(e.cidr)
	}
	pfrom, pto := e.port, e.port
	if e.hasPortTo {
		pto = e.portTo
		if pfrom > pto {
			pfrom, pto = pto, pfrom
		}
	}
	ip2from, ip2to := e.ip2&mask(c2), e.ip2|^mask(c2)
	if e.hasIP2To {
		ip2from, ip2to = e.ip2, e.ip2To
		if ip2from > ip2to {
			ip2from, ip2to = ip2to, ip2from
		}
		if ip2from == 0 && ip2to == 0xffffffff {
			return errHashRange
		}
	}
	for ip := from; ; ip++ {
		for p := pfrom; ; p++ {
			err := rangeToCidrs(ip2from, ip2to, func(ip2 uint32, c uint8) error {
				return one(elemKey{ip: ip, ip2: ip2, cidr: c, proto: e.proto, port: p})
			})
			if err != nil {
				return err
			}
			if p == pto {
				break
			}
		}
		if ip == to {
			return nil
		}
	}
}

// bitmapIPAdt is bitmap_ip_uadt's add/del: the element's address, an
// address range (either order) or a prefix, each in the set's range,
// walked from the first address given in steps of the netmask's hosts
// (so a range not starting on a netmask boundary may stop short of its
// last block, as in the kernel).
func (s *Set) bitmapIPAdt(e *elemSpec, one func(elemKey) error) error {
	o := &s.Opts
	ip, to := e.ip, e.ip
	if ip < o.IPFrom || ip > o.IPTo {
		return errRange
	}
	switch {
	case e.hasTo:
		to = e.to
		if ip > to {
			ip, to = to, ip
			if ip < o.IPFrom {
				return errRange
			}
		}
	case e.hasCidr:
		if e.cidr == 0 || e.cidr > 32 {
			return errCidr
		}
		ip &= mask(e.cidr)
		to = ip | ^mask(e.cidr)
	}
	if to > o.IPTo {
		return errRange
	}
	hosts := uint32(1) << (32 - s.netmask())
	for ; int32(to-ip) >= 0; ip += hosts {
		if err := one(elemKey{ip: ip, cidr: 32}); err != nil {
			return err
		}
	}
	return nil
}

// parseAD is the userspace part of add, del and test: the set's type
// (the set must exist) and the element's syntax.
func (r *Registry) parseAD(c *Command, state bool) (*Set, *elemSpec, error) {
	if len(c.Args) < 1 {
		return nil, nil, perrf("Missing mandatory argument to command %s", c.Name)
	}
	if len(c.Args) < 2 {
		return nil, nil, perrf("Missing second mandatory argument to command %s", c.Name)
	}
	s := r.Get(c.Args[0])
	if s == nil {
		if err := checkSetName(c.Args[0]); err != nil {
			return nil, nil, err
		}
		return nil, nil, errNoSet
	}
	e, err := parseElem(s, c.Name, c.Args[1:], state)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkAllowed(c.Name, e); err != nil {
		return nil, nil, err
	}
	return s, e, nil
}

// runAD is the kernel part of add and del.
func (s *Set) runAD(c *Command, e *elemSpec) error {
	if c.Name == "add" {
		if s.Type == TypeBitmapPort && !s.bmInRange(elemKey{port: e.port}) {
			return errRange // bitmap_port_uadt: before the extensions
		}
		if err := s.checkExt(e); err != nil {
			return err
		}
	}
	return s.adt(c.Name, e, c.Exist)
}

// Exec runs a parsed command (not restore, help, version) against the
// registry, appending output to out. changed tells whether the registry
// may have changed.
func (r *Registry) Exec(c *Command, out *strings.Builder) (changed bool, err error) {
	return r.exec(c, out, false)
}

// needArgs reports a command's missing mandatory arguments.
func needArgs(c *Command, n int) error {
	if len(c.Args) < 1 && n >= 1 {
		return perrf("Missing mandatory argument to command %s", c.Name)
	}
	if len(c.Args) < 2 && n >= 2 {
		return perrf("Missing second mandatory argument to command %s", c.Name)
	}
	return nil
}

func (r *Registry) exec(c *Command, out *strings.Builder, state bool) (changed bool, err error) {
	arg := func(i int) string {
		if i < len(c.Args) {
			return c.Args[i]
		}
		return ""
	}
	need := func(n int) error { return needArgs(c, n) }
	for _, a := range c.Args[:min(len(c.Args), 2)] {
		if c.Name != "add" && c.Name != "del" && c.Name != "test" && c.Name != "create" {
			if err := checkSetName(a); err != nil {
				return false, err
			}
		}
	}
	switch c.Name {
	case "create":
		if err := need(2); err != nil {
			return false, err
		}
		if err := checkSetName(arg(0)); err != nil {
			return false, err
		}
		typ, o, err := parseCreate(arg(1), c.Args[2:], state)
		if err != nil {
			return false, err
		}
		_, err = r.Create(arg(0), typ, o, c.Exist)
		return err == nil, err
	case "add", "del", "test":
		s, e, err := r.parseAD(c, state)
		if err != nil {
			return false, err
		}
		if c.Name == "test" {
			var hit bool
			now := s.now()
			// ip_set_utest: a kernel error is "not in set".
			kernelErr := s.hasPort() && e.proto == 0 || s.nullMasked(e.ip) && (s.Type == TypeHashIP || s.Type == TypeHashIPPort)
			// test ... nomatch inverts the net types' answer
			// (ip_set_enomatch): in the set when a nomatch element
			// decides, not when a matching one does.
			found := func(i int32, nm bool) bool {
				if e.testNomatch {
					return nm
				}
				return i >= 0
			}
			switch s.Type {
			case TypeListSet:
				hit = s.listTest(e)
			case TypeBitmapIPMAC:
				hit = s.ipmacTest(e.ip, e.ether, now)
			case TypeBitmapPort, TypeBitmapIP:
				k := elemKey{ip: e.ip, port: e.port}
				hit = s.bmInRange(k) && s.lookupK(k.ip, 0, k.port, now) >= 0
			case TypeHashNetIface:
				k := elemKey{ip: e.ip, cidr: s.hostLen(), iface: e.iface, physdev: e.physdev}
				if e.hasCidr {
					k.cidr = e.cidr
				}
				r := s.testIface(k, 0, now, false, CounterMatch{})
				hit = (r > 0 && !e.testNomatch) || (r < 0 && e.testNomatch)
			case TypeHashNet, TypeHashNetPort, TypeHashIPPortNet:
				cidr := s.hostLen()
				k := elemKey{ip: e.ip, ip2: e.ip2, proto: e.proto, port: e.port}
				if s.Type == TypeHashIPPortNet {
					if e.hasCidr2 {
						cidr = e.cidr2
					}
					if cidr == 0 {
						kernelErr = true
					}
				} else if e.hasCidr {
					cidr = e.cidr
					if cidr == 0 {
						kernelErr = true // -IPSET_ERR_INVALID_CIDR
					}
				}
				switch {
				case kernelErr:
				case cidr == s.hostLen():
					hit = found(s.lookupNM(k, now))
				default:
					held := true
					if s.netOnIP() {
						k.ip, held = s.maskFind(k.ip, cidr)
					} else {
						k.ip2, held = s.maskFind(k.ip2, cidr)
					}
					k.cidr = cidr
					if i := s.lookupExact(k); held && i >= 0 {
						m := s.matchEntry(i, now)
						hit = (m > 0 && !e.testNomatch) || (m < 0 && e.testNomatch)
					}
				}
			case TypeHashMAC:
				hit = (e.ip != 0 || e.port != 0) && s.lookupK(e.ip, 0, e.port, now) >= 0
			case TypeHashIP:
				// hash_ip4_uadt tests the address alone, any prefix ignored.
				hit = !kernelErr && s.lookupK(e.ip, 0, 0, now) >= 0
			default:
				ip := e.ip
				if e.hasCidr && !s.isV6() {
					ip &= mask(e.cidr)
				}
				hit = !kernelErr && s.lookupE(elemKey{ip: ip, ip2: e.ip2, proto: e.proto, port: e.port}, now) >= 0
			}
			txt := arg(1)
			if !e.hasTo {
				txt = s.specText(e)
			}
			if hit {
				return false, &Error{Msg: "Warning: " + txt + " is in set " + s.Name + ".", Status: 0, Plain: true}
			}
			return false, &Error{Msg: txt + " is NOT in set " + s.Name + ".", Status: 1, Plain: true}
		}
		if state && c.Name == "add" {
			if s.isList() {
				s.loadListMember(e)
				return true, nil
			}
			s.loadEntry(e)
			return true, nil
		}
		return true, s.runAD(c, e)
	case "destroy":
		err := r.Destroy(arg(0))
		if err == errNoSet && c.Exist {
			err = nil // ip_set_destroy: a missing set is no error with -exist
		}
		return true, err
	case "flush":
		return true, r.Flush(arg(0))
	case "rename", "swap":
		if err := need(2); err != nil {
			return false, err
		}
		if c.Name == "rename" {
			return true, r.Rename(arg(0), arg(1))
		}
		return true, r.Swap(arg(0), arg(1))
	case "list", "save":
		f := ListFlags{Sorted: c.Sorted, Resolve: c.Resolve, Name: c.NameO, Terse: c.Terse, state: state}
		if c.Name == "save" {
			f.Mode = OutSave
		}
		if c.HasOut {
			f.Mode = c.Output
		}
		var sets []*Set
		if arg(0) != "" {
			s := r.Get(arg(0))
			if s == nil {
				return false, errNoSet
			}
			sets = []*Set{s}
		} else {
			sets = r.dumpOrder()
		}
		if f.Mode == OutXML {
			out.WriteString("<ipsets>\n")
		}
		for i, s := range sets {
			s.WriteList(out, f, i == 0)
		}
		if f.Mode == OutXML {
			out.WriteString("</ipsets>\n")
		}
		return false, nil
	}
	return false, perrf("No command specified: unknown argument %s", c.Name)
}

// The restore reader's limits (ipset.c: MAX_CMDLINE_CHARS, MAX_ARGS).
const (
	maxCmdline = 1024
	maxArgs    = 32
)

// restoreLines cuts a restore file as ipset's fgets into a 1024-byte
// buffer does: a line of more than 1023 bytes is read, and counted, as
// several; each keeps its newline and ends at a NUL byte, as a C string.
func restoreLines(text string) []string {
	var out []string
	for len(text) > 0 {
		n := strings.IndexByte(text, '\n') + 1
		if n == 0 {
			n = len(text)
		}
		n = min(n, maxCmdline-1)
		l := text[:n]
		if z := strings.IndexByte(l, 0); z >= 0 {
			l = l[:z]
		}
		out = append(out, l)
		text = text[n:]
	}
	return out
}

// SplitLine splits a restore line (with its newline, if it has one) into
// words as ipset's build_argv does: double quotes group blanks into a
// word and are dropped; an empty word is no word; a quote still open
// when a word ends at the end of the line is an error, while one open
// at a trailing newline silently drops the rest.
func SplitLine(line string) ([]string, error) {
	var argv []string
	var arg []byte
	quoted := false
	for i := 0; i < len(line); i++ {
		if len(argv)+2 == maxArgs { // newargc counts the program name
			return nil, perrf("Line is too long to parse.")
		}
		c := line[i]
		last := i+1 == len(line)
		switch c {
		case '"':
			quoted = !quoted
			if !last {
				continue
			}
		case ' ', '\r', '\n', '\t':
			if quoted {
				arg = append(arg, c)
				continue
			}
		default:
			arg = append(arg, c)
			if !last {
				continue
			}
		}
		if last && quoted {
			return nil, perrf("Missing close quote!")
		}
		if len(arg) > 0 {
			argv = append(argv, string(arg))
			arg = arg[:0]
		}
	}
	return argv, nil
}

// stateWord is a word as the state file writes it: bare, or as a Go
// quoted string when it is empty or holds a blank, a quote, a backslash
// or a byte that is not printable ASCII. ipset's own quoting cannot carry
// a quote, and a set or interface name may hold one.
func stateWord(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c <= ' ' || c == '"' || c == '\\' || c >= 0x7f {
			return strconv.Quote(w)
		}
	}
	if w == "" {
		return `""`
	}
	return w
}

// splitState splits a state file line: blanks separate words and a Go
// quoted string, anywhere in a word, stands for its text.
func splitState(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	have := false
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == '"':
			q, err := strconv.QuotedPrefix(line[i:])
			if err != nil {
				return nil, err
			}
			u, _ := strconv.Unquote(q)
			cur.WriteString(u)
			have = true
			i += len(q)
		case c == ' ' || c == '\t' || c == '\r':
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
			i++
		default:
			cur.WriteByte(c)
			have = true
			i++
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// Restore runs the commands of a restore file. Errors carry the line
// number as ipset prints them ("Error in line N: ...").
func (r *Registry) Restore(text string, exist bool, out *strings.Builder) (changed bool, err error) {
	return r.restore(text, exist, out, false)
}

// LoadState reads a state file written by WriteState.
func (r *Registry) LoadState(text string) error {
	r.loading = true
	defer func() { r.loading = false }()
	_, err := r.restore(text, true, &strings.Builder{}, true)
	return err
}

// WriteState returns the registry as restore commands, with absolute
// expiry times so that timeouts survive between invocations.
func (r *Registry) WriteState() string {
	var b strings.Builder
	for _, s := range r.sets {
		if s == nil {
			b.WriteString("nfgo-hole\n")
			continue
		}
		s.writeState(&b)
	}
	return b.String()
}

// adLine is a parsed add or del line of a restore, not yet run.
type adLine struct {
	n int
	c *Command
	s *Set
	e *elemSpec
}

// precheck makes the userspace checks of a command (those before the
// ipset tool sends it), so that a restore line failing them does not send
// the pending lines.
func (r *Registry) precheck(c *Command) error {
	for _, a := range c.Args[:min(len(c.Args), 2)] {
		if c.Name != "create" && c.Name != "test" {
			if err := checkSetName(a); err != nil {
				return err
			}
		}
	}
	switch c.Name {
	case "rename", "swap":
		return needArgs(c, 2) // argv parsing: the pending adds are lost
	case "create":
		if err := needArgs(c, 2); err != nil {
			return err
		}
		if err := checkSetName(c.Args[0]); err != nil {
			return err
		}
		_, _, err := parseCreate(c.Args[1], c.Args[2:], false)
		if err == errCidr || err == errRange || err == errRangeSize {
			return nil // the kernel's
		}
		return err
	case "test":
		_, _, err := r.parseAD(c, false)
		return err
	}
	return nil
}

func (r *Registry) restore(text string, exist bool, out *strings.Builder, state bool) (changed bool, err error) {
	var lines []string
	if state {
		lines = strings.Split(text, "\n")
	} else {
		lines = restoreLines(text)
	}
	var batch []adLine
	commit := func() error {
		b := batch
		batch = nil
		for _, l := range b {
			changed = true
			if err := l.s.runAD(l.c, l.e); err != nil {
				return &Error{Msg: "Error in line " + strconv.Itoa(l.n+1) + ": " + err.Error(), Status: 1}
			}
		}
		return nil
	}
	for n, line := range lines {
		var w []string
		if state {
			if w, err = splitState(line); err != nil {
				return changed, kerrf("nfgo: state file line %d: %v", n+1, err)
			}
			if len(w) == 0 {
				continue
			}
		} else {
			c := strings.TrimLeft(line, " \t\n\v\f\r") // isspace
			if c == "" || c[0] == '#' {
				continue
			}
			if c == "COMMIT\n" || c == "COMMIT\r\n" {
				if err := commit(); err != nil {
					return true, err
				}
				continue
			}
			if w, err = SplitLine(c); err != nil {
				return changed, err
			}
		}
		if state && w[0] == "nfgo-hole" {
			r.sets = append(r.sets, nil)
			continue
		}
		if state && w[0] == "nfgo-layout" && len(w) >= 2 {
			s := r.Get(w[1])
			if s == nil {
				return changed, errNoSet
			}
			if err := s.applyLayout(w[2:]); err != nil {
				return changed, err
			}
			continue
		}
		lineErr := func(n int, err error) error {
			// A test ends the restore with its own result.
			e, _ := err.(*Error)
			if e != nil && (e.Status == 2 || e.Plain || e.NoLine) {
				return err
			}
			m := err.Error()
			if e != nil && e.LineMsg != "" {
				m = e.LineMsg
			}
			return &Error{Msg: "Error in line " + strconv.Itoa(n+1) + ": " + m, Status: 1}
		}
		c, err := ParseCommand(w)
		if err != nil {
			return changed, lineErr(n, err) // (an unknown output mode is numbered)
		}
		if exist {
			c.Exist = true
		}
		switch c.Name {
		case "restore", "help", "version":
			// parse_commandline's custom error: not numbered, the pending
			// adds lost
			return changed, perrf("Command `%s' is invalid in restore mode.", c.Name)
		case "quit":
			return changed, nil // ends the restore, the pending adds unsent
		}
		if !state {
			// ipset restore aggregates consecutive add (or del) lines of
			// one set into one message, sent when another command comes
			// (after that line parsed) or at the end: a line that does not
			// parse loses the pending ones.
			if c.Name == "add" || c.Name == "del" {
				s, e, err := r.parseAD(c, false)
				if err != nil {
					if x, _ := err.(*Error); x != nil && x.Sent {
						if err := commit(); err != nil {
							return true, err
						}
					}
					return changed, lineErr(n, err)
				}
				if len(batch) > 0 && (batch[0].c.Name != c.Name || batch[0].s != s) {
					if err := commit(); err != nil {
						return true, err
					}
				}
				batch = append(batch, adLine{n, c, s, e})
				continue
			}
			if err := r.precheck(c); err != nil {
				return changed, lineErr(n, err)
			}
			if err := commit(); err != nil {
				return true, err
			}
		}
		ch, err := r.exec(c, out, state)
		changed = changed || ch
		if err != nil {
			return changed, lineErr(n, err)
		}
	}
	if err := commit(); err != nil {
		return true, err
	}
	if state {
		for _, s := range r.Sets() {
			if s.pending != nil {
				s.placePending()
			}
			if s.pendingList != nil {
				s.resolvePending()
			}
		}
	}
	return changed, nil
}

// parseSkb parses the skbinfo arguments as libipset does: skbmark is
// sscanf "0x%lx/0x%lx", else "0x%lx" with a full mask; skbprio is
// "%x:%x" (MAJOR:MINOR); skbqueue a number 0-65535.
func parseSkb(x *Elem, o, v string) error {
	switch o {
	case "skbmark":
		mark, n, ok := scanHex(v, "0x")
		if !ok {
			return syntaxf("Invalid skbmark format, it should be:  MARK/MASK or MARK (see manpage)")
		}
		mask, _, ok := scanHex(v[n:], "/0x")
		if !ok {
			mask = 0xffffffff
		}
		x.Skb.Mark, x.Skb.Mask = uint32(mark), uint32(mask)
	case "skbprio":
		maj, n, ok := scanHex(v, "")
		var min uint64
		if ok {
			min, _, ok = scanHex(v[n:], ":")
		}
		if !ok {
			return syntaxf("Invalid skbprio format, it should be:MAJOR:MINOR (see manpage)")
		}
		// %x converts as strtoul and stores an unsigned int: truncated.
		x.Skb.Prio = uint32(maj)<<16 | uint32(min&0xffff)
	case "skbqueue":
		n, err := parseUint(v, 65535)
		if err != nil {
			return err
		}
		x.Skb.Queue = uint16(n)
	}
	x.HasSkb = true
	return nil
}

// scanHex is sscanf's literal lit followed by %lx: the literal, white
// space, an optional sign and "0x", then hex digits (strtoul: an
// overflow gives ULONG_MAX, a minus sign negates). It returns the value
// and the bytes consumed.
func scanHex(s, lit string) (uint64, int, bool) {
	if !strings.HasPrefix(s, lit) {
		return 0, 0, false
	}
	i := len(lit)
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && isHex(s[i+2]) {
		i += 2
	}
	start := i
	var v uint64
	over := false
	for i < len(s) && isHex(s[i]) {
		d := uint64(strings.IndexByte("0123456789abcdef", s[i]|0x20))
		if v > (1<<64-1-d)/16 {
			over = true
		}
		v = v*16 + d
		i++
	}
	if i == start {
		return 0, 0, false
	}
	if over {
		v = 1<<64 - 1
	} else if neg {
		v = -v
	}
	return v, i, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}
