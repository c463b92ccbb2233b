package ipset

import (
	"strconv"
	"strings"
)

// Command is one parsed ipset command line.
type Command struct {
	Name   string   // create, add, del, test, destroy, list, save, restore, flush, rename, swap, help, version
	Args   []string // positional words after the command (set names, element, options)
	Exist  bool
	Quiet  bool
	Output int
	HasOut bool
	Sorted bool
	NameO  bool
	Terse  bool
	File   string
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
				continue
			case "o", "output", "f", "file":
				if i+1 >= len(args) {
					return nil, perrf("Missing mandatory argument of option `%s'", o)
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

// parseCreate parses "TYPE [options]".
func parseCreate(typ string, args []string, state bool) (Options, error) {
	var o Options
	switch typ {
	case TypeHashIP, TypeHashNet, TypeHashIPPort, TypeHashNetPort, TypeBitmapPort:
	default:
		return o, syntaxf("typename '%s' is unknown", typ)
	}
	bm := typ == TypeBitmapPort
	hasRange := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", perrf("Missing mandatory argument of option `%s'", a)
			}
			i++
			return args[i], nil
		}
		switch a {
		case "family", "hashsize", "maxelem", "bucketsize", "initval", "netmask", "forceadd":
			if bm {
				return o, perrf("Unknown argument: `%s'", a)
			}
		case "range":
			if !bm {
				return o, perrf("Unknown argument: `%s'", a)
			}
		}
		switch a {
		case "range":
			v, err := val()
			if err != nil {
				return o, err
			}
			from, to, hasTo, err := parsePortRange(v, "tcp")
			if err != nil {
				return o, err
			}
			if !hasTo {
				return o, perrf("Mandatory option `to' is missing")
			}
			if to < from {
				from, to = to, from
			}
			o.PortFrom, o.PortTo, hasRange = from, to, true
		case "family":
			v, err := val()
			if err != nil {
				return o, err
			}
			if v != "inet" && v != "ipv4" {
				if v == "inet6" || v == "ipv6" {
					return o, kerr("nfgo: family inet6 is not supported")
				}
				return o, syntaxf("unknown inet family %s", v)
			}
			o.Family = "inet"
		case "hashsize", "maxelem", "timeout", "bucketsize", "initval", "netmask":
			if a == "netmask" && typ != TypeHashIP && typ != TypeHashIPPort {
				return o, perrf("Unknown argument: `%s'", a)
			}
			v, err := val()
			if err != nil {
				return o, err
			}
			max := uint64(0xffffffff)
			switch a {
			case "timeout":
				max = MaxTimeout
			case "bucketsize":
				max = 255
			}
			if a == "netmask" {
				n, err := strconv.ParseUint(v, 0, 8)
				if err != nil || n < 1 || n > 32 {
					if err != nil && !isNum(v) {
						return o, syntaxf("'%s' is invalid as number", v)
					}
					return o, kerr("Syntax error: '" + v + "' is out of range 1-32\nSyntax error: netmask is out of the inclusive range of 1-32")
				}
				o.Netmask = uint8(n)
				continue
			}
			n, err := parseUint(v, max)
			if err != nil {
				return o, err
			}
			switch a {
			case "hashsize":
				o.Hashsize = uint32(n)
			case "maxelem":
				o.Maxelem = uint32(n)
			case "timeout":
				o.Timeout, o.HasTimeout = uint32(n), true
			case "bucketsize":
				o.BucketSize = uint8(n)
			case "initval":
				o.InitVal, o.HasInitVal = uint32(n), true
			}
		case "counters":
			o.Counters = true
		case "comment":
			o.Comment = true
		case "skbinfo":
			o.SkbInfo = true
		case "forceadd":
			o.ForceAdd = true
		default:
			return o, perrf("Unknown argument: `%s'", a)
		}
	}
	if bm && !hasRange {
		return o, perrf("Mandatory option `range' is missing")
	}
	return o, nil
}

func isNum(s string) bool {
	_, err := strconv.ParseInt(s, 0, 64)
	return err == nil
}

// parseIPv4 parses a dotted quad (inet_pton style).
func parseIPv4(s string) (uint32, bool) {
	var ip uint32
	parts := 0
	for len(s) > 0 || parts < 4 {
		if parts == 4 {
			return 0, false
		}
		j := strings.IndexByte(s, '.')
		p := s
		if j >= 0 {
			p, s = s[:j], s[j+1:]
			if parts == 3 {
				return 0, false
			}
		} else {
			s = ""
		}
		if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return 0, false
		}
		v := 0
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return 0, false
		}
		ip = ip<<8 | uint32(v)
		parts++
		if j < 0 {
			break
		}
	}
	if parts != 4 {
		return 0, false
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
	x         Elem
	expires   int64 // state files
	hasExp    bool
}

func parseIPPart(e *elemSpec, a string) error {
	ipPart := a
	if j := strings.IndexByte(a, '/'); j >= 0 {
		ipPart = a[:j]
		c := a[j+1:]
		n, err := strconv.ParseUint(c, 10, 8)
		if err != nil {
			if isNum(c) {
				return syntaxf("'%s' is out of range 0-32", c)
			}
			return syntaxf("'%s' is invalid as number", c)
		}
		if n > 32 {
			return syntaxf("'%s' is out of range 0-32", c)
		}
		e.cidr, e.hasCidr = uint8(n), true
	} else if j := strings.IndexByte(a, '-'); j >= 0 {
		ipPart = a[:j]
		to, ok := parseIPv4(a[j+1:])
		if !ok {
			return syntaxf("cannot parse %s: resolving to IPv4 address failed", a[j+1:])
		}
		e.to, e.hasTo = to, true
	}
	ip, ok := parseIPv4(ipPart)
	if !ok {
		return syntaxf("cannot parse %s: resolving to IPv4 address failed", ipPart)
	}
	e.ip = ip
	return nil
}

func parseElem(s *Set, cmd string, args []string, state bool) (*elemSpec, error) {
	e := &elemSpec{}
	a := args[0]
	var err error
	switch {
	case s.Type == TypeBitmapPort:
		// ipset_parse_tcp_udp_port
		if e.proto, e.port, e.portTo, e.hasPortTo, err = parseProtoPort(a, cmd); err != nil {
			return nil, err
		}
		if e.proto != 6 && e.proto != 17 {
			return nil, syntaxf("Only protocols TCP and UDP are valid")
		}
		e.proto = 0
	case s.hasPort():
		j := sepIndex(a, ',')
		if j < 0 {
			return nil, syntaxf("Second element is missing from %s.", a)
		}
		if err := parseIPPart(e, a[:j]); err != nil {
			return nil, err
		}
		if e.proto, e.port, e.portTo, e.hasPortTo, err = parseProtoPort(a[j+1:], cmd); err != nil {
			return nil, err
		}
		if !protoWithPorts(e.proto) {
			e.hasPortTo = false
			if e.proto != 1 {
				e.port = 0
			}
		}
	default:
		if err := parseIPPart(e, a); err != nil {
			return nil, err
		}
	}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		o := rest[i]
		val := func() (string, error) {
			if i+1 >= len(rest) {
				return "", perrf("Missing mandatory argument of option `%s'", o)
			}
			i++
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
			if !s.Opts.HasTimeout {
				return nil, kerr("Timeout cannot be used: set was created without timeout support")
			}
			e.x.Timeout, e.x.HasTimeout = uint32(n), true
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
		case (o == "packets" || o == "bytes") && cmd == "add" && s.Opts.Counters:
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := parseUint(v, 1<<64-1)
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
			if !s.Opts.Comment {
				return nil, kerr("Comment cannot be used: set was created without comment support")
			}
			if len(v) > maxCommentSize {
				return nil, syntaxf("Comment is longer than the maximum allowed %d characters", maxCommentSize)
			}
			e.x.Comment, e.x.HasComment = v, true
		case o == "nomatch" && s.isNet() && cmd != "test":
			e.x.NoMatch = true
		default:
			return nil, perrf("Unknown argument: `%s'", o)
		}
	}
	return e, nil
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
	if s.isNet() && e.hasCidr {
		c = e.cidr
	}
	return elemKey{ip: e.ip, cidr: c, proto: e.proto, port: e.port}
}

var errProto = kerr("Invalid protocol specified")

// specText is the element as the test messages print it.
func (s *Set) specText(e *elemSpec) string {
	var b strings.Builder
	if s.Type == TypeBitmapPort {
		return strconv.Itoa(int(e.port))
	}
	b.WriteString(ipString(e.ip))
	if e.hasCidr {
		b.WriteString("/" + strconv.Itoa(int(e.cidr)))
	}
	b.WriteByte(',')
	portText(&b, e.proto, e.port)
	return b.String()
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
		if !s.bmInRange(pfrom) || !s.bmInRange(pto) {
			return errRange
		}
		return ports(elemKey{cidr: 32})
	case TypeHashNet, TypeHashNetPort:
		c := uint8(32)
		if e.hasCidr {
			c = e.cidr
			if c == 0 {
				return errCidr
			}
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
	from, to := e.ip, e.ip
	if e.hasTo {
		to = e.to
		if to < from {
			from, to = to, from
		}
	} else if e.hasCidr {
		if e.cidr == 0 && s.hasPort() {
			return errCidr
		}
		from &= mask(e.cidr)
		to = from | ^mask(e.cidr)
	}
	from &= mask(nm)
	to &= mask(nm)
	step := uint32(1) << (32 - nm)
	for ip := from; ; ip += step {
		if err := ports(elemKey{ip: ip, cidr: 32, proto: e.proto}); err != nil {
			return err
		}
		if ip >= to || ip+step == 0 {
			return nil
		}
	}
}

// Exec runs a parsed command (not restore, help, version) against the
// registry, appending output to out. changed tells whether the registry
// may have changed.
func (r *Registry) Exec(c *Command, out *strings.Builder) (changed bool, err error) {
	return r.exec(c, out, false)
}

func (r *Registry) exec(c *Command, out *strings.Builder, state bool) (changed bool, err error) {
	arg := func(i int) string {
		if i < len(c.Args) {
			return c.Args[i]
		}
		return ""
	}
	need := func(n int) error {
		if len(c.Args) < 1 && n >= 1 {
			return perrf("Missing mandatory argument to command %s", c.Name)
		}
		if len(c.Args) < 2 && n >= 2 {
			return perrf("Missing second mandatory argument to command %s", c.Name)
		}
		return nil
	}
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
		o, err := parseCreate(arg(1), c.Args[2:], state)
		if err != nil {
			return false, err
		}
		_, err = r.Create(arg(0), arg(1), o, c.Exist)
		return err == nil, err
	case "add", "del", "test":
		if err := need(2); err != nil {
			return false, err
		}
		s := r.Get(arg(0))
		if s == nil {
			if err := checkSetName(arg(0)); err != nil {
				return false, err
			}
			return false, errNoSet
		}
		e, err := parseElem(s, c.Name, c.Args[1:], state)
		if err != nil {
			return false, err
		}
		if c.Name == "test" {
			var hit bool
			now := s.now()
			if s.hasPort() && e.proto == 0 {
				return false, errProto
			}
			if s.hasPort() || s.Type == TypeBitmapPort {
				fam := "inet"
				if s.Type == TypeBitmapPort {
					fam = "unspec"
				}
				if e.hasTo {
					return false, kerrf("FROM-TO IP range is not allowed in command test with set type %s and family %s", s.Type, fam)
				}
				if e.hasPortTo {
					return false, kerrf("FROM-TO port range is not allowed in command test with set type %s and family %s", s.Type, fam)
				}
			}
			switch s.Type {
			case TypeBitmapPort:
				hit = s.bmInRange(e.port) && s.lookupK(0, 0, e.port, now) >= 0
			case TypeHashNet, TypeHashNetPort:
				cidr := uint8(32)
				if e.hasCidr {
					cidr = e.cidr
				}
				if cidr == 0 {
					return false, errCidr
				}
				if cidr == 32 {
					hit = s.lookupK(e.ip, e.proto, e.port, now) >= 0
				} else {
					i := s.lookupExact(elemKey{ip: e.ip & mask(cidr), cidr: cidr, proto: e.proto, port: e.port})
					hit = i >= 0 && s.matchEntry(i, now) > 0
				}
			default:
				ip := e.ip
				if e.hasCidr {
					ip &= mask(e.cidr)
				}
				hit = s.lookupK(ip, e.proto, e.port, now) >= 0
			}
			txt := arg(1)
			if s.hasPort() || s.Type == TypeBitmapPort {
				txt = s.specText(e)
			}
			if hit {
				return false, &Error{Msg: "Warning: " + txt + " is in set " + s.Name + ".", Status: 0, Plain: true}
			}
			return false, &Error{Msg: txt + " is NOT in set " + s.Name + ".", Status: 1, Plain: true}
		}
		if state && c.Name == "add" {
			s.loadEntry(e)
			return true, nil
		}
		err = s.adt(c.Name, e, c.Exist)
		return true, err
	case "destroy":
		return true, r.Destroy(arg(0))
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
		f := ListFlags{Sorted: c.Sorted, Name: c.NameO, Terse: c.Terse, state: state}
		if c.Name == "save" {
			f.Mode = OutSave
		}
		if c.HasOut {
			f.Mode = c.Output
		}
		if f.Mode == OutXML {
			return false, kerr("nfgo: xml output is not supported")
		}
		var sets []*Set
		if arg(0) != "" {
			s := r.Get(arg(0))
			if s == nil {
				return false, errNoSet
			}
			sets = []*Set{s}
		} else {
			sets = r.Sets()
		}
		for i, s := range sets {
			s.WriteList(out, f, i == 0)
		}
		return false, nil
	}
	return false, perrf("No command specified: unknown argument %s", c.Name)
}

// SplitLine splits a restore line into words; double quotes group words
// (a comment "with spaces").
func SplitLine(line string) []string {
	var out []string
	var cur strings.Builder
	in, have := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '"':
			in = !in
			have = true
		case !in && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(ch)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// Restore runs the commands of a restore file. Errors carry the line
// number as ipset prints them ("Error in line N: ...").
func (r *Registry) Restore(text string, exist bool, out *strings.Builder) (changed bool, err error) {
	return r.restore(text, exist, out, false)
}

// LoadState reads a state file written by WriteState.
func (r *Registry) LoadState(text string) error {
	_, err := r.restore(text, true, &strings.Builder{}, true)
	return err
}

// WriteState returns the registry as restore commands, with absolute
// expiry times so that timeouts survive between invocations.
func (r *Registry) WriteState() string {
	var b strings.Builder
	for _, s := range r.Sets() {
		s.writeState(&b)
	}
	return b.String()
}

func (r *Registry) restore(text string, exist bool, out *strings.Builder, state bool) (changed bool, err error) {
	lines := strings.Split(text, "\n")
	for n, line := range lines {
		w := SplitLine(line)
		if len(w) == 0 || strings.HasPrefix(w[0], "#") || w[0] == "COMMIT" {
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
		c, err := ParseCommand(w)
		if err != nil {
			return changed, err
		}
		if exist {
			c.Exist = true
		}
		switch c.Name {
		case "restore", "help", "version", "quit":
			return changed, kerrf("Error in line %d: Command `%s' is invalid in restore mode.", n+1, c.Name)
		}
		ch, err := r.exec(c, out, state)
		changed = changed || ch
		if err != nil {
			e, _ := err.(*Error)
			if e != nil && e.Status == 2 {
				return changed, err
			}
			return changed, &Error{Msg: "Error in line " + strconv.Itoa(n+1) + ": " + err.Error(), Status: 1}
		}
	}
	if state {
		for _, s := range r.Sets() {
			if s.pending != nil {
				s.placePending()
			}
		}
	}
	return changed, nil
}
