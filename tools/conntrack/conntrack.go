// Package conntrack is nfgo's conntrack tool: the command line of
// conntrack-tools 1.4.7 (listing, getting, deleting, flushing, counting,
// updating the mark of connection tracking entries and expectations) on
// nfgo's connection tracking table, with the real tool's output, messages
// and exit statuses.
//
// What nfgo cannot do faithfully is refused with an error naming it (exit
// status 1): events (-E), creating entries (-I, -A), expectation
// creation, deletion and lookup, --load-file, connection labels, entry
// ids (-i, -o id, -o xml, whose lines carry ids), -U other than setting
// the mark, and the options of the protocols nfgo tracks as generic ones
// (udplite, sctp, dccp, gre keys, icmpv6).
package conntrack

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ct "github.com/nfgo/nfgo/conntrack"
)

// Env is what the tool acts on.
type Env struct {
	Stdout, Stderr io.Writer
	// Table is the connection tracking table; nil: none is available.
	Table *ct.Table
	// Now is the clock (Unix ns) timeouts are shown relative to; nil:
	// time.Now.
	Now func() int64
	// CPUs is how many "cpu=N" lines -S prints (0: 1).
	CPUs int
	// Subscribe, for -E, has f hear the table's events until cancel is
	// called (a running gateway provides it; nil: no events here), and
	// Done ends the listening (the client went away). Events are written
	// to Stdout as they come.
	Subscribe func(f ct.EventFunc) (cancel func())
	Done      <-chan struct{}
}

const progname = "conntrack"

// errPrefix starts every message of exit_error and the summary lines.
const errPrefix = "conntrack v1.4.7 (conntrack-tools): "

// NoTable is the error printed when there is no table to act on.
const NoTable = "nfgo conntrack: no connection tracking table here: connections live in a running nfgo gateway\n"

// Commands (enum ct_command).
const (
	cmdList      = 1 << bitList
	cmdCreate    = 1 << bitCreate
	cmdUpdate    = 1 << bitUpdate
	cmdDelete    = 1 << bitDelete
	cmdGet       = 1 << bitGet
	cmdFlush     = 1 << bitFlush
	cmdEvent     = 1 << bitEvent
	cmdVersion   = 1 << bitVersion
	cmdHelp      = 1 << bitHelp
	cmdExpList   = 1 << bitExpList
	cmdExpCreate = 1 << bitExpCreate
	cmdExpDelete = 1 << bitExpDelete
	cmdExpGet    = 1 << bitExpGet
	cmdExpFlush  = 1 << bitExpFlush
	cmdExpEvent  = 1 << bitExpEvent
	cmdCount     = 1 << bitCount
	cmdExpCount  = 1 << bitExpCount
	cmdStats     = 1 << bitStats
	cmdExpStats  = 1 << bitExpStats
	cmdAdd       = 1 << bitAdd
)

// Option bits (enum ct_options).
const (
	optOrigSrc = 1 << iota
	optOrigDst
	optReplSrc
	optReplDst
	optProto
	optTimeout
	optStatus
	optZero
	optEventMask
	optExpSrc
	optExpDst
	optMaskSrc
	optMaskDst
	optNatRange
	optMark
	optID
	optFamily
	optSrcNAT
	optDstNAT
	optOutput
	optSecmark
	optBufferSize
	optAnyNAT
	optZone
	optLabel
	optAddLabel
	optDelLabel
	optOrigZone
	optReplZone
	numOpts = 29
)

const (
	optOrig       = optOrigSrc | optOrigDst
	optRepl       = optReplSrc | optReplDst
	optComparison = optProto | optOrig | optRepl | optMark | optSecmark | optStatus | optID | optZone | optLabel | optOrigZone | optReplZone
)

var optflags = [numOpts]string{"src", "dst", "reply-src", "reply-dst", "protonum", "timeout", "status", "zero",
	"event-mask", "tuple-src", "tuple-dst", "mask-src", "mask-dst", "nat-range", "mark", "id", "family",
	"src-nat", "dst-nat", "output", "secmark", "buffer-size", "any-nat", "zone", "label", "label-add",
	"label-del", "orig-zone", "reply-zone"}

var baseOpts = []longOpt{
	{"dump", optionalArg, 'L'}, {"create", optionalArg, 'I'}, {"add", optionalArg, 'A'},
	{"delete", optionalArg, 'D'}, {"update", optionalArg, 'U'}, {"get", optionalArg, 'G'},
	{"flush", optionalArg, 'F'}, {"event", optionalArg, 'E'}, {"counter", optionalArg, 'C'},
	{"stats", noArg, 'S'}, {"version", noArg, 'V'}, {"help", noArg, 'h'},
	{"orig-src", requiredArg, 's'}, {"src", requiredArg, 's'}, {"orig-dst", requiredArg, 'd'},
	{"dst", requiredArg, 'd'}, {"reply-src", requiredArg, 'r'}, {"reply-dst", requiredArg, 'q'},
	{"protonum", requiredArg, 'p'}, {"timeout", requiredArg, 't'}, {"status", requiredArg, 'u'},
	{"zero", noArg, 'z'}, {"event-mask", requiredArg, 'e'}, {"tuple-src", requiredArg, '['},
	{"tuple-dst", requiredArg, ']'}, {"mask-src", requiredArg, '{'}, {"mask-dst", requiredArg, '}'},
	{"nat-range", requiredArg, 'a'}, {"mark", requiredArg, 'm'}, {"secmark", requiredArg, 'c'},
	{"id", optionalArg, 'i'}, {"family", requiredArg, 'f'}, {"src-nat", optionalArg, 'n'},
	{"dst-nat", optionalArg, 'g'}, {"output", requiredArg, 'o'}, {"buffer-size", requiredArg, 'b'},
	{"any-nat", optionalArg, 'j'}, {"zone", requiredArg, 'w'}, {"label", requiredArg, 'l'},
	{"label-add", requiredArg, '<'}, {"label-del", optionalArg, '>'}, {"orig-zone", requiredArg, '('},
	{"reply-zone", requiredArg, ')'},
}

const optstring = ":L::I::U::D::G::E::F::A::hVs:d:r:q:p:t:u:e:a:z[:]:{:}:m:i:f:o:n::g::c:b:C::Sj::w:l:<:>::(:):"

// commandsVOptions: which options each command takes (0 illegal, 1
// compulsory, 2 optional, 3 see the address pairs).
var commandsVOptions = [numCmds][numOpts]int8{
	//            s d r q p t u z e [ ] { } a m i f n g o c b j w l < > ( )
	bitList:      {2, 2, 2, 2, 2, 0, 2, 2, 0, 0, 0, 2, 2, 0, 2, 0, 2, 2, 2, 2, 2, 0, 2, 2, 2, 0, 0, 2, 2},
	bitCreate:    {3, 3, 3, 3, 1, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 2, 2},
	bitUpdate:    {2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 0, 0},
	bitDelete:    {2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 2, 2, 0, 0, 2, 2},
	bitGet:       {3, 3, 3, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0},
	bitFlush:     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	bitEvent:     {2, 2, 2, 2, 2, 0, 0, 0, 2, 0, 0, 2, 2, 0, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 2, 2},
	bitHelp:      {0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	bitExpList:   {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	bitExpCreate: {1, 1, 2, 2, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	bitExpDelete: {1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	bitExpGet:    {1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	bitExpEvent:  {}, // only -o, set in init
	bitAdd:       {3, 3, 3, 3, 1, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 2, 2},
}

func init() {
	commandsVOptions[bitExpEvent][19] = 2
}

// cmd2type: the command of each command letter for the conntrack and
// the expectation table (0: none).
var cmd2type = map[int][2]int{
	'L': {cmdList, cmdExpList}, 'I': {cmdCreate, cmdExpCreate}, 'D': {cmdDelete, cmdExpDelete},
	'G': {cmdGet, cmdExpGet}, 'F': {cmdFlush, cmdExpFlush}, 'E': {cmdEvent, cmdExpEvent},
	'V': {cmdVersion, cmdVersion}, 'h': {cmdHelp, cmdHelp}, 'C': {cmdCount, cmdExpCount},
	'S': {cmdStats, cmdExpStats}, 'U': {cmdUpdate, 0}, 'A': {cmdAdd, 0},
}

var exitMsg = map[int]string{
	bitList: "%d flow entries have been shown.\n", bitCreate: "%d flow entries have been created.\n",
	bitUpdate: "%d flow entries have been updated.\n", bitDelete: "%d flow entries have been deleted.\n",
	bitGet: "%d flow entries have been shown.\n", bitEvent: "%d flow events have been shown.\n",
	bitExpList: "%d expectations have been shown.\n", bitExpDelete: "%d expectations have been shown.\n",
	bitAdd: "%d flow entries have been added.\n",
}

const (
	tableConntrack = iota
	tableExpect
	tableDying
	tableUnconfirmed
)

// Output flags (-o).
const (
	oXML = 1 << iota
	oExt
	oTms
	oID
	oKtms
	oCL
	oSave
)

// tmpl is the template the options fill: the attributes of conntrack's
// filter object (tmpl->ct) that were set, with the mask object's
// addresses, the mark and the kernel-side status filter.
type tmpl struct {
	origL3, replL3              optional[int]
	origSrc, origDst            optional[address]
	origSrcGarbage              bool // -j ADDR wrote a stack byte into the original source
	replSrc, replDst            optional[address]
	maskSrc, maskDst            optional[address]
	snat, dnat                  optional[address]
	snatPort, dnatPort          optional[uint16]
	l4proto, replL4             optional[int]
	origSport, origDport        optional[uint16]
	replSport, replDport        optional[uint16]
	icmpType, icmpCode, icmpID  optional[int]
	tcpState                    optional[int]
	status                      optional[uint32]
	statusFilterVal, statusMask uint32
	statusFilter                bool
	zone, origZone, replZone    optional[uint16]
	secmark, id                 optional[uint32]
	timeout                     optional[uint32]
	markValue, markMask         uint32
	network                     [2]struct{ net, mask uint32 }
	networkFamily               int
}

type command struct {
	eventMask uint32 // -e: NEW 1, UPDATES 2, DESTROY 4 (0: all)
	command   int
	bit       int
	options   uint32
	family    int
	table     int
	protonum  int
	handler   *protoHandler
	l4flags   uint32
	output    uint32
	tmpl      tmpl
	warnings  []string // printed to stderr while parsing
	refuse    error    // the first thing nfgo cannot do (checked after parsing)
	labelsOut bool
	now       int64
}

// Main runs conntrack with args (without the program name).
func Main(args []string, env *Env) int {
	stdout, stderr := env.Stdout, env.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	now := time.Now().UnixNano()
	if env.Now != nil {
		now = env.Now()
	}
	if len(args) >= 2 && (args[0] == "-R" || args[0] == "--load-file") {
		name := args[1]
		if name == "-" {
			name = "/dev/stdin"
		}
		if f, err := os.Open(name); err != nil {
			var b strings.Builder
			code := report(&b, paramErr("Failed to open file %s for reading", name))
			io.WriteString(stderr, b.String())
			return code
		} else {
			f.Close()
		}
		fmt.Fprint(stderr, "nfgo conntrack: "+args[0]+": loading commands from a file is not supported\n")
		return 1
	}
	var out, errb strings.Builder
	c, err := parse(append([]string{progname}, args...), &errb)
	if err == nil && c.refuse != nil {
		err = c.refuse
	}
	code := 0
	if err == nil {
		code, err = run(c, env, now, &out, &errb)
	}
	if err != nil {
		code = report(&errb, err)
	}
	io.WriteString(stdout, out.String())
	io.WriteString(stderr, errb.String())
	return code
}

func report(w *strings.Builder, err error) int {
	te, ok := err.(*toolErr)
	if !ok {
		fmt.Fprintf(w, "nfgo conntrack: %v\n", err)
		return 1
	}
	if te.nfgo {
		w.WriteString(te.msg + "\n")
		return te.code
	}
	w.WriteString(errPrefix + te.msg + "\n")
	if te.code == 2 {
		w.WriteString("Try `conntrack -h' or 'conntrack --help' for more information.\n")
	}
	return te.code
}

// getLongOpt is get_long_opt: the first long option with that value.
func getLongOpt(opts []longOpt, v int) string {
	for _, o := range opts {
		if o.val == v {
			return o.name
		}
	}
	return "unknown"
}

// parse is do_parse.
func parse(argv []string, errw *strings.Builder) (*command, error) {
	c := &command{}
	t := &c.tmpl
	opts := append([]longOpt(nil), baseOpts...)
	g := newGetopt(argv, optstring, opts)
	family := afUnspec
	offsets := map[*protoHandler]int{}
	globalOffset := 0
	var status, statusMask uint32
	addCommand := func(n int) error {
		if c.command != 0 {
			return paramErr("Invalid commands combination")
		}
		c.command |= n
		return nil
	}
	optionalArg := func() (string, bool) {
		if g.hasArg {
			return "", false
		}
		if g.optind < len(g.argv) && (g.argv[g.optind] == "" || (g.argv[g.optind][0] != '-' && g.argv[g.optind][0] != '!')) {
			a := g.argv[g.optind]
			g.optind++
			return a, true
		}
		return "", false
	}
	checkType := func() (int, error) {
		tb, ok := optionalArg()
		if !ok {
			return tableConntrack, nil
		}
		switch {
		case strings.HasPrefix("expect", tb):
			return tableExpect, nil
		case strings.HasPrefix("conntrack", tb):
			return tableConntrack, nil
		case strings.HasPrefix("dying", tb):
			return tableDying, nil
		case strings.HasPrefix("unconfirmed", tb):
			return tableUnconfirmed, nil
		}
		return 0, paramErr("unknown type `%s'", tb)
	}
	setFamily := func(f int) error {
		if family == afUnspec {
			family = f
		} else if family != f {
			return paramErr("mismatched address family")
		}
		return nil
	}
	// nfct_parse_addr_from_opt for the tuple options.
	parseAddrOpt := func(opt int, arg string, maskopt int, isSrc bool) (address, error) {
		a, mask := parseAddr(arg, true)
		if a.family == afUnspec {
			return a, paramErr("Invalid IP address `%s'", arg)
		}
		if err := setFamily(a.family); err != nil {
			return a, err
		}
		if mask != -1 && maskopt == 0 {
			return a, paramErr("CIDR notation unavailable for `--%s'", getLongOpt(g.longs, opt))
		} else if mask == -2 {
			return a, paramErr("Invalid netmask")
		}
		if mask >= 0 && maskopt != 0 && mask != 32 && a.family == afInet {
			m := uint32(0)
			if mask > 0 {
				m = ^uint32(0) << (32 - mask)
			}
			if isSrc {
				t.maskSrc.set(address{afInet, m})
				c.options |= optMaskSrc
			} else {
				t.maskDst.set(address{afInet, m})
				c.options |= optMaskDst
			}
		} else if mask >= 0 && maskopt != 0 && mask != 128 && a.family == afInet6 {
			if isSrc {
				t.maskSrc.set(address{family: afInet6})
				c.options |= optMaskSrc
			} else {
				t.maskDst.set(address{family: afInet6})
				c.options |= optMaskDst
			}
		}
		return a, nil
	}
	for {
		o := g.next()
		if o == -1 {
			break
		}
		switch o {
		case 'L':
			tb, err := checkType()
			if err != nil {
				return nil, err
			}
			c.table = tb
			n := cmd2type['L'][0]
			if tb == tableExpect {
				n = cmd2type['L'][1]
			}
			if err := addCommand(n); err != nil {
				return nil, err
			}
		case 'I', 'D', 'G', 'F', 'E', 'V', 'h', 'C', 'S', 'U', 'A':
			tb, err := checkType()
			if err != nil {
				return nil, err
			}
			c.table = tb
			if tb == tableDying || tb == tableUnconfirmed {
				return nil, paramErr("Can't do that command with tables `dying' and `unconfirmed'")
			}
			n := cmd2type[o][0]
			if tb == tableExpect {
				n = cmd2type[o][1]
			}
			if n == 0 {
				what := "conntrack"
				if tb != tableConntrack {
					what = "expectations"
				}
				return nil, paramErr("Can't do --%s on %s", getLongOpt(g.longs, o), what)
			}
			if err := addCommand(n); err != nil {
				return nil, err
			}
		case 's', 'd', 'r', 'q':
			maskopt := 0
			if o == 's' || o == 'd' {
				maskopt = 1
			}
			a, err := parseAddrOpt(o, g.optarg, maskopt, o == 's')
			if err != nil {
				return nil, err
			}
			switch o {
			case 's':
				c.options |= optOrigSrc
				t.origSrc.set(a)
				t.origL3.set(a.family)
			case 'd':
				c.options |= optOrigDst
				t.origDst.set(a)
				t.origL3.set(a.family)
			case 'r':
				c.options |= optReplSrc
				t.replSrc.set(a)
				t.replL3.set(a.family)
			case 'q':
				c.options |= optReplDst
				t.replDst.set(a)
				t.replL3.set(a.family)
			}
		case '[', ']':
			a, err := parseAddrOpt(o, g.optarg, 1, o == '[')
			if err != nil {
				return nil, err
			}
			_ = a
			if o == '[' {
				c.options |= optExpSrc
			} else {
				c.options |= optExpDst
			}
		case '{', '}':
			a, mask := parseAddr(g.optarg, true)
			if a.family == afUnspec {
				return nil, paramErr("Invalid IP address `%s'", g.optarg)
			}
			if err := setFamily(a.family); err != nil {
				return nil, err
			}
			if mask != -1 {
				return nil, paramErr("CIDR notation unavailable for `--%s'", getLongOpt(g.longs, o))
			}
			if o == '{' {
				c.options |= optMaskSrc
				t.maskSrc.set(a)
			} else {
				c.options |= optMaskDst
				t.maskDst.set(a)
			}
		case 'p':
			c.options |= optProto
			h, num, ok := findproto(g.optarg)
			if !ok {
				return nil, paramErr("`%s' unsupported protocol", g.optarg)
			}
			globalOffset += 256
			offsets[h] = globalOffset
			for _, lo := range h.opts {
				g.longs = append(g.longs, longOpt{lo.name, lo.hasArg, lo.val + globalOffset})
			}
			c.handler = h
			c.protonum = num
			t.l4proto.set(num)
		case 't':
			c.options |= optTimeout
			t.timeout.set(uint32(atol(g.optarg)))
		case 'u':
			c.options |= optStatus
			if err := parseStatus(g.optarg, &status, &statusMask, errw); err != nil {
				return nil, err
			}
			t.status.set(status)
			if statusMask == 0 {
				statusMask = status
			}
			t.statusFilterVal, t.statusMask, t.statusFilter = status, statusMask, true
		case 'e':
			c.options |= optEventMask
			var mask uint32
			if err := parseParameter(g.optarg, &mask, eventNames, errw); err != nil {
				return nil, err
			}
			c.eventMask = mask
		case 'o':
			c.options |= optOutput
			if err := parseParameter(g.optarg, &c.output, outputNames, errw); err != nil {
				return nil, err
			}
			if c.output&oCL != 0 && !c.labelsOut {
				c.labelsOut = true
				labelmapInit(errw)
			}
			if c.output&oSave != 0 && c.output&(oExt|oTms|oID|oKtms|oCL|oXML) != 0 {
				return nil, otherErr("cannot combine save output with any other output type, use -o save only")
			}
		case 'z':
			c.options |= optZero
		case 'n', 'g', 'j':
			bit := map[int]uint32{'n': optSrcNAT, 'g': optDstNAT, 'j': optAnyNAT}[o]
			c.options |= bit
			arg, ok := optionalArg()
			if !ok {
				break
			}
			addr, port, err := splitAddressPort(arg)
			if err != nil {
				return nil, err
			}
			a, mask := parseAddr(addr, true)
			if a.family == afUnspec {
				return nil, paramErr("Invalid IP address `%s'", addr)
			}
			if err := setFamily(a.family); err != nil {
				return nil, err
			}
			if mask != -1 {
				return nil, paramErr("CIDR notation unavailable for `--%s'", getLongOpt(g.longs, o))
			}
			var p optional[uint16]
			if port != "" {
				p.set(uint16(atoi(port)))
			}
			switch o {
			case 'n':
				t.snat.set(a)
				t.origL3.set(a.family)
				if p.ok {
					t.snatPort = p
				}
			case 'g':
				t.dnat.set(a)
				t.origL3.set(a.family)
				if p.ok {
					t.dnatPort = p
				}
			case 'j':
				// opt2family_attr and opt2attr have no 'j' entry:
				// attribute 0, the original source, gets the address
				// and is then overwritten with the 4 bytes at the
				// address of the one-byte family on conntrack's stack.
				t.origSrcGarbage = true
				t.snat.set(a)
				t.dnat.set(a)
				if p.ok {
					t.snatPort, t.dnatPort = p, p
				}
			}
		case 'w', '(', ')':
			v := uint16(strtoul(g.optarg))
			switch o {
			case 'w':
				c.options |= optZone
				t.zone.set(v)
			case '(':
				c.options |= optOrigZone
				t.origZone.set(v)
			case ')':
				c.options |= optReplZone
				t.replZone.set(v)
			}
		case 'i', 'c':
			v := uint32(strtoul(g.optarg))
			if o == 'i' {
				c.options |= optID
				t.id.set(v)
			} else {
				c.options |= optSecmark
				t.secmark.set(v)
			}
		case 'm':
			c.options |= optMark
			t.markValue, t.markMask = parseU32Mask(g.optarg)
		case 'l', '<', '>':
			labelmapInit(errw)
			arg := g.optarg
			if o == '>' {
				a, ok := optionalArg()
				if !ok {
					break
				}
				arg = a
			}
			if _, err := os.Stat(connlabelConf); err != nil {
				// No label map: every name is unknown.
				name, _, _ := strings.Cut(arg, ",")
				return nil, paramErr("unknown label '%s'", name)
			}
			return nil, unsupported("--%s: connection labels are not supported", getLongOpt(g.longs, o))
		case 'a':
			errw.WriteString("WARNING: ignoring -a, deprecated option.\n")
		case 'f':
			c.options |= optFamily
			var err error
			switch {
			case strings.HasPrefix(g.optarg, "ipv4"):
				err = setFamily(afInet)
			case strings.HasPrefix(g.optarg, "ipv6"):
				err = setFamily(afInet6)
			default:
				err = paramErr("`%s' unsupported protocol", g.optarg)
			}
			if err != nil {
				return nil, err
			}
		case 'b':
			c.options |= optBufferSize
		case ':':
			return nil, paramErr("option `%s' requires an argument", g.argv[g.optind-1])
		case '?':
			return nil, paramErr("unknown option `%s'", g.argv[g.optind-1])
		default:
			h := c.handler
			if h == nil || h.unknown {
				break
			}
			code := byte(o - offsets[h])
			if h.foreign {
				// Find the option's name for the refusal.
				name := "unknown"
				for _, lo := range g.longs {
					if lo.val == o {
						name = lo.name
						break
					}
				}
				c.l4flags |= 1
				if c.refuse == nil {
					c.refuse = unsupported("--%s: the options of protocol %s are not supported (nfgo tracks %s as a generic protocol)", name, h.name, h.name)
				}
				break
			}
			f, err := h.parse(code, g.optarg, t)
			if err != nil {
				return nil, err
			}
			c.l4flags |= f
		}
	}
	// The family defaults to IPv4 for the commands that do not dump.
	if family == afUnspec {
		switch c.command {
		case cmdList, cmdUpdate, cmdDelete, cmdGet, cmdFlush, cmdEvent:
		default:
			family = afInet
		}
	}
	if c.options&optAnyNAT != 0 && c.options&(optSrcNAT|optDstNAT) != 0 {
		return nil, paramErr("cannot specify `--src-nat' or `--dst-nat' with `--any-nat'")
	}
	c.bit = numCmds
	for i := 0; i < numCmds; i++ {
		if c.command&(1<<i) != 0 {
			c.bit = i
			break
		}
	}
	var row []int8
	if c.bit < numCmds {
		row = commandsVOptions[c.bit][:]
	}
	if err := optCheck(c.options, numOpts, row, optflags[:], []uint32{optOrig, optRepl},
		[]string{"you have to specify `--src' and `--dst'", "you have to specify `--reply-src' and `--reply-dst'"}); err != nil {
		return nil, err
	}
	if c.command&cmdHelp == 0 && c.handler != nil && !c.handler.unknown {
		h := c.handler
		if h.foreign {
			if c.l4flags == 0 && (c.command&(cmdGet|cmdCreate|cmdAdd) != 0) {
				return nil, paramErr("%s", h.partial[0])
			}
		} else {
			var hrow []int8
			if c.bit < numCmds {
				hrow = h.matrix[c.bit]
			}
			if err := optCheck(c.l4flags, len(h.optflags)+1, hrow, h.optflags, h.coupled, h.partial); err != nil {
				return nil, err
			}
		}
	}
	c.family = family
	c.tmpl.networkFamily = family
	return c, nil
}

// optCheck is generic_opt_check followed by the caller's message for an
// incomplete pair of coupled options.
func optCheck(options uint32, n int, row []int8, names []string, coupled []uint32, partialMsg []string) error {
	special := false
	for i := 0; i < n; i++ {
		var v int8
		if i < len(row) {
			v = row[i]
		}
		name := ""
		if i < len(names) {
			name = names[i]
		}
		if options&(1<<i) == 0 {
			if v == 1 {
				return paramErr("You need to supply the `--%s' option for this command", name)
			}
		} else if v == 0 {
			return paramErr("Illegal option `--%s' with this command", name)
		}
		if v == 3 {
			special = true
		}
	}
	if !special || len(coupled) == 0 {
		return nil
	}
	partial := -1
	for i, f := range coupled {
		if options&f == f {
			return nil
		}
		if options&f != 0 && partial < 0 {
			partial = i
		}
	}
	if partial < 0 {
		partial = 0
	}
	if partial < len(partialMsg) {
		return paramErr("%s", partialMsg[partial])
	}
	return nil
}

var statusNames = []struct {
	name string
	bit  uint32
}{{"ASSURED", ct.StatusAssured}, {"SEEN_REPLY", ct.StatusSeenReply}, {"UNSET", 0},
	{"FIXED_TIMEOUT", ct.StatusFixedTimeout}, {"EXPECTED", ct.StatusExpected}, {"OFFLOAD", 1 << 14}, {"HW_OFFLOAD", 1 << 15}}

var eventNames = []struct {
	name string
	bit  uint32
}{{"ALL", 7}, {"NEW", 1}, {"UPDATES", 2}, {"DESTROY", 4}}

var outputNames = []struct {
	name string
	bit  uint32
}{{"xml", oXML}, {"extended", oExt}, {"timestamp", oTms}, {"id", oID}, {"ktimestamp", oKtms},
	{"labels", oCL}, {"userspace", 0}, {"save", oSave}}

// prefixFold is strncasecmp(s, name, len(s)) == 0.
func prefixFold(s, name string) bool {
	return len(s) <= len(name) && strings.EqualFold(s, name[:len(s)])
}

// doParseParameter is do_parse_parameter.
func doParseParameter(tok string, value *uint32, names []struct {
	name string
	bit  uint32
}, errw *strings.Builder) bool {
	if prefixFold(tok, "SRC_NAT") {
		errw.WriteString("WARNING: ignoring SRC_NAT, use --src-nat instead\n")
		return true
	}
	if prefixFold(tok, "DST_NAT") {
		errw.WriteString("WARNING: ignoring DST_NAT, use --dst-nat instead\n")
		return true
	}
	for _, n := range names {
		if prefixFold(tok, n.name) {
			*value |= n.bit
			return true
		}
	}
	return false
}

// parseParameter is parse_parameter (-e, -o).
func parseParameter(arg string, value *uint32, names []struct {
	name string
	bit  uint32
}, errw *strings.Builder) error {
	for {
		i := strings.IndexByte(arg, ',')
		if i < 0 {
			break
		}
		if i == 0 || !doParseParameter(arg[:i], value, names, errw) {
			return paramErr("Bad parameter `%s'", arg)
		}
		arg = arg[i+1:]
	}
	if arg == "" || !doParseParameter(arg, value, names, errw) {
		return paramErr("Bad parameter `%s'", arg)
	}
	return nil
}

// parseStatus is parse_parameter_mask for -u: "!" moves a bit to the
// mask, UNREPLIED asks for SEEN_REPLY unset.
func parseStatus(arg string, status, mask *uint32, errw *strings.Builder) error {
	for {
		i := strings.IndexByte(arg, ',')
		if i < 0 {
			break
		}
		if i == 0 {
			return paramErr("Bad parameter `%s'", arg)
		}
		neg := arg[0] == '!'
		if neg {
			arg = arg[1:]
			i--
		}
		if i == 0 {
			return paramErr("Bad parameter `%s'", arg)
		}
		v := status
		if neg {
			v = mask
		}
		if !neg && strings.HasPrefix(arg, "UNREPLIED") {
			*mask |= ct.StatusSeenReply
			arg = arg[i+1:]
			continue
		}
		if !doParseParameter(arg[:i], v, statusNames, errw) {
			return paramErr("Bad parameter `%s'", arg)
		}
		arg = arg[i+1:]
	}
	neg := arg != "" && arg[0] == '!'
	if neg {
		arg = arg[1:]
	}
	v := status
	if neg {
		v = mask
	}
	if !neg && strings.HasPrefix(arg, "UNREPLIED") {
		*mask |= ct.StatusSeenReply
		return nil
	}
	if arg == "" || !doParseParameter(arg, v, statusNames, errw) {
		return paramErr("Bad parameter `%s'", arg)
	}
	return nil
}

// parseU32Mask is parse_u32_mask: value[/mask], strtoul base 0.
func parseU32Mask(arg string) (uint32, uint32) {
	v, n, _ := strtoulPrefix(arg)
	rest := arg[n:]
	if strings.HasPrefix(rest, "/") {
		return uint32(v), uint32(strtoul(rest[1:]))
	}
	return uint32(v), ^uint32(0)
}

// splitAddressPort is split_address_and_port for the NAT options.
func splitAddressPort(arg string) (addr, port string, err error) {
	if i := strings.IndexByte(arg, '['); i >= 0 {
		start := arg[i+1:]
		j := strings.IndexByte(start, ']')
		if j == 0 {
			return "", "", paramErr("No IPv6 address specified")
		} else if j < 0 {
			return "", "", paramErr("No closing ']' around IPv6 address")
		}
		after := start[j:]
		k := strings.IndexByte(after, ':')
		if k < 0 {
			return arg, "", nil
		}
		addr = start[:j]
		port = after[k+1:]
	} else {
		k := strings.IndexByte(arg, ':')
		if k < 0 || strings.IndexByte(arg[k+1:], ':') >= 0 {
			return arg, "", nil
		}
		addr, port = arg[:k], arg[k+1:]
	}
	if port == "" {
		return "", "", paramErr("No port specified after `:'")
	}
	if !validPort(port) {
		return "", "", paramErr("Invalid port `%s'", port)
	}
	return addr, port, nil
}

func validPort(s string) bool {
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if v <= 65535 {
			v = v*10 + int(s[i]-'0')
		}
	}
	return v <= 65535
}

const connlabelConf = "/etc/xtables/connlabel.conf"

// labelmapInit is labelmap_init: without a label map file libnetfilter
// conntrack's nfct_labelmap_new fails and conntrack says so (perror).
func labelmapInit(errw *strings.Builder) {
	if _, err := os.Stat(connlabelConf); err != nil {
		errw.WriteString("nfct_labelmap_new: No such file or directory\n")
	}
}

// IsEvents reports whether a command line asks for events (-E on the
// conntrack table): a command that streams until interrupted.
func IsEvents(args []string) bool {
	var errb strings.Builder
	c, err := parse(append([]string{progname}, args...), &errb)
	return err == nil && c.refuse == nil && c.command == cmdEvent
}
