package rules

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/xt"
)

// Command bits, in iptables' CMD_* order (cmd2char relies on it).
const (
	CmdNone        = 0
	CmdInsert      = 1 << 0
	CmdDelete      = 1 << 1
	CmdDeleteNum   = 1 << 2
	CmdReplace     = 1 << 3
	CmdAppend      = 1 << 4
	CmdList        = 1 << 5
	CmdFlush       = 1 << 6
	CmdZero        = 1 << 7
	CmdNewChain    = 1 << 8
	CmdDeleteChain = 1 << 9
	CmdSetPolicy   = 1 << 10
	CmdRenameChain = 1 << 11
	CmdListRules   = 1 << 12
	CmdZeroNum     = 1 << 13
	CmdCheck       = 1 << 14
	numCmds        = 15
)

// Option bits, in iptables' OPT_* order (optflags relies on it).
const (
	OptNumeric     = 1 << 0
	OptSource      = 1 << 1
	OptDestination = 1 << 2
	OptProtocol    = 1 << 3
	OptJump        = 1 << 4
	OptVerbose     = 1 << 5
	OptExpanded    = 1 << 6
	OptViaIn       = 1 << 7
	OptViaOut      = 1 << 8
	OptLineNumbers = 1 << 9
	OptCounters    = 1 << 10
	OptFragment    = 1 << 11
	numOpts        = 12
)

var optflags = []byte{'n', 's', 'd', 'p', 'j', 'v', 'x', 'i', 'o', '0', 'c', 'f'}

var cmdflags = []byte{'I', 'D', 'D', 'R', 'A', 'L', 'F', 'Z', 'N', 'X', 'P', 'E', 'S', 'Z', 'C'}

// commandsVOptions is iptables' table of legal command/option pairs
// ('x' illegal), for the options above.
var commandsVOptions = [numCmds]string{
	/*            nsdpjvxio0cf */
	/*INSERT*/ "x     x  x  ",
	/*DELETE*/ "x     x  xx ",
	/*DELNUM*/ "xxxxx xxxxxx",
	/*REPLAC*/ "x     x  x  ",
	/*APPEND*/ "x     x  x  ",
	/*LIST  */ " xxxx  xx xx",
	/*FLUSH */ "xxxxx xxxxxx",
	/*ZERO  */ "xxxxx xxxxxx",
	/*NEWCH */ "xxxxx xxxxxx",
	/*DELCH */ "xxxxx xxxxxx",
	/*POLICY*/ "xxxxx xxxx x",
	/*RENAME*/ "xxxxx xxxxxx",
	/*LRULES*/ "xxxxx xxxxxx",
	/*ZERONU*/ "xxxxx xxxxxx",
	/*CHECK */ "x     x  xx ",
}

func cmd2char(c int) byte {
	i := 0
	for ; c > 1; c >>= 1 {
		i++
	}
	return cmdflags[i]
}

func opt2char(o int) byte {
	i := 0
	for ; o > 1; o >>= 1 {
		i++
	}
	return optflags[i]
}

var inverseForOptions = [numOpts]uint8{0, InvSrcIP, InvDstIP, InvProto, 0, 0, 0, InvViaIn, InvViaOut, 0, 0, InvFrag}

// Parsed is one iptables command line, parsed.
type Parsed struct {
	Command     int
	Table       string
	Chain       string
	ChainGiven  bool // a chain argument was given (even an empty one)
	RuleNum     int
	NewName     string
	Policy      string
	Options     int
	Verbose     int
	Rule        *Rule // for rule commands, with the first -s/-d pair
	Srcs, Dsts  []xt.AddrMask
	JumpTo      string
	Help        bool
	Version     string // non-empty: print this and exit 0
	Wait        int
	Warnings    []string // printed to stderr before acting
	TargetIsExt bool
}

type longOpt struct {
	name   string
	hasArg int // 0 none, 1 required, 2 optional
	val    int // short letter, or extension code
}

var baseOpts = []longOpt{
	{"append", 1, 'A'}, {"delete", 1, 'D'}, {"check", 1, 'C'}, {"insert", 1, 'I'},
	{"replace", 1, 'R'}, {"list", 2, 'L'}, {"list-rules", 2, 'S'}, {"flush", 2, 'F'},
	{"zero", 2, 'Z'}, {"new-chain", 1, 'N'}, {"delete-chain", 2, 'X'}, {"rename-chain", 1, 'E'},
	{"policy", 1, 'P'}, {"source", 1, 's'}, {"destination", 1, 'd'}, {"src", 1, 's'},
	{"dst", 1, 'd'}, {"protocol", 1, 'p'}, {"in-interface", 1, 'i'}, {"jump", 1, 'j'},
	{"table", 1, 't'}, {"match", 1, 'm'}, {"numeric", 0, 'n'}, {"out-interface", 1, 'o'},
	{"verbose", 0, 'v'}, {"wait", 2, 'w'}, {"wait-interval", 2, 'W'}, {"exact", 0, 'x'},
	{"fragments", 0, 'f'}, {"version", 0, 'V'}, {"help", 2, 'h'}, {"line-numbers", 0, '0'},
	{"modprobe", 1, 'M'}, {"set-counters", 1, 'c'}, {"goto", 1, 'g'}, {"ipv4", 0, '4'},
	{"ipv6", 0, '6'},
}

var baseExact = func() map[string]longOpt {
	m := make(map[string]longOpt, len(baseOpts))
	for _, o := range baseOpts {
		m[o.name] = o
	}
	return m
}()

// shortOpts is IPT_OPTSTRING without the leading "-:": letter -> has_arg.
var shortOpts = map[byte]int{
	'A': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 2, 'I': 1, 'L': 2, 'M': 1, 'N': 1, 'P': 1, 'V': 0,
	'X': 2, 'Z': 2, 'c': 1, 'd': 1, 'i': 1, 'j': 1, 'o': 1, 'p': 1, 's': 1, 't': 1,
	'R': 1, 'S': 2, 'W': 2, '4': 0, '6': 0, 'b': 0, 'f': 0, 'g': 1, 'h': 2, 'm': 1,
	'n': 0, 'v': 0, 'w': 2, 'x': 0,
}

const extCodeBase = 1000

// parser holds getopt's state and the command state being built.
type parser struct {
	args    []string
	optind  int
	nextc   string // rest of a short option cluster
	optarg  string
	hasArg  bool
	lastArg string // argv[optind-1] for messages

	exts      []*xt.Instance // loaded extensions, in load order (matches and target)
	target    *xt.Instance
	protoText string
	protoUsed bool
	restore   bool
	ctx       *xt.Ctx
	family    xt.Family
}

const (
	codeNonOpt  = 1
	codeUnknown = '?'
	codeMissing = ':'
	codeEnd     = -1
)

// getopt returns the next option code, emulating getopt_long with the
// optstring "-:..." (non-options returned in order, missing arguments
// reported as ':').
func (p *parser) getopt() int {
	p.optarg, p.hasArg = "", false
	if p.nextc != "" {
		return p.short()
	}
	if p.optind >= len(p.args) {
		return codeEnd
	}
	a := p.args[p.optind]
	if a == "--" {
		p.optind++
		return codeEnd
	}
	if len(a) < 2 || a[0] != '-' {
		p.optind++
		p.optarg, p.hasArg = a, true
		p.lastArg = a
		return codeNonOpt
	}
	if strings.HasPrefix(a, "--") {
		return p.long(a)
	}
	p.nextc = a[1:]
	p.optind++
	p.lastArg = a
	return p.short()
}

func (p *parser) short() int {
	c := p.nextc[0]
	p.nextc = p.nextc[1:]
	ha, ok := shortOpts[c]
	if !ok || c == ':' || c == '-' {
		p.optarg = string(c)
		return codeUnknown
	}
	switch ha {
	case 1:
		if p.nextc != "" {
			p.optarg, p.hasArg = p.nextc, true
			p.nextc = ""
		} else if p.optind < len(p.args) {
			p.optarg, p.hasArg = p.args[p.optind], true
			p.optind++
		} else {
			return codeMissing
		}
	case 2:
		if p.nextc != "" {
			p.optarg, p.hasArg = p.nextc, true
			p.nextc = ""
		}
	}
	return int(c)
}

// lookupLong finds a long option as getopt_long does over iptables' merged
// table: the base options first, then the extensions' options, the most
// recently loaded extension first (xtables_options_xfrm). An exact name
// wins; otherwise a unique prefix (or several entries that agree).
func (p *parser) lookupLong(name string) (found longOpt, ok bool) {
	if o, hit := baseExact[name]; hit {
		return o, true
	}
	for i := len(p.exts) - 1; i >= 0; i-- {
		for j := range p.exts[i].Def.Options {
			if o := &p.exts[i].Def.Options[j]; o.Name == name {
				ha := 0
				if o.Arg {
					ha = 1
				}
				return longOpt{o.Name, ha, extCodeBase + i*64 + j}, true
			}
		}
	}
	ambiguous := false
	consider := func(o longOpt) bool {
		if len(o.name) < len(name) || o.name[:len(name)] != name {
			return false
		}
		if len(o.name) == len(name) {
			found, ok, ambiguous = o, true, false
			return true
		}
		if !ok {
			found, ok = o, true
		} else if found.hasArg != o.hasArg || found.val != o.val {
			ambiguous = true
		}
		return false
	}
	for _, o := range baseOpts {
		if consider(o) {
			return found, true
		}
	}
	for i := len(p.exts) - 1; i >= 0; i-- {
		for j := range p.exts[i].Def.Options {
			o := &p.exts[i].Def.Options[j]
			ha := 0
			if o.Arg {
				ha = 1
			}
			if consider(longOpt{o.Name, ha, extCodeBase + i*64 + j}) {
				return found, true
			}
		}
	}
	if ambiguous {
		return longOpt{}, false
	}
	return found, ok
}

func (p *parser) long(a string) int {
	p.optind++
	p.lastArg = a
	body := a[2:]
	name, val, hasEq := body, "", false
	if i := strings.IndexByte(body, '='); i >= 0 {
		name, val, hasEq = body[:i], body[i+1:], true
	}
	found, ok := p.lookupLong(name)
	if !ok || name == "" {
		return codeUnknown
	}
	switch found.hasArg {
	case 0:
		if hasEq {
			return codeUnknown
		}
	case 1:
		if hasEq {
			p.optarg, p.hasArg = val, true
		} else if p.optind < len(p.args) {
			p.optarg, p.hasArg = p.args[p.optind], true
			p.optind++
		} else {
			return codeMissing
		}
	case 2:
		if hasEq {
			p.optarg, p.hasArg = val, true
		}
	}
	return found.val
}

// xsHasArg is xs_has_arg: the next word is an argument, not an option.
func (p *parser) xsHasArg() bool {
	return p.optind < len(p.args) && !strings.HasPrefix(p.args[p.optind], "-") && !strings.HasPrefix(p.args[p.optind], "!")
}

func (p *parser) takeArg() string {
	a := p.args[p.optind]
	p.optind++
	return a
}

func addCommand(cmd *int, newcmd, othercmds int, invert bool) error {
	if invert {
		return xt.Errorf("unexpected '!' flag")
	}
	if *cmd&^othercmds != 0 {
		return xt.Errorf("Cannot use -%c with -%c", cmd2char(newcmd), cmd2char(*cmd&^othercmds))
	}
	*cmd |= newcmd
	return nil
}

func parseRuleNumber(s string) (int, error) {
	v, ok := xt.ParseUint(s, 1, 1<<31-1)
	if !ok {
		return 0, xt.Errorf("Invalid rule number `%s'", s)
	}
	return int(v), nil
}

func setOption(options *int, option int, inv *uint8, invert bool) error {
	if *options&option != 0 {
		return xt.Errorf("multiple -%c flags not allowed", opt2char(option))
	}
	*options |= option
	if invert {
		i := 0
		for 1<<i != option {
			i++
		}
		if inverseForOptions[i] == 0 {
			return xt.Errorf("cannot have ! before -%c", opt2char(option))
		}
		*inv |= inverseForOptions[i]
	}
	return nil
}

// ValidChainName is assert_valid_chain_name.
func ValidChainName(name string) error {
	if len(name) >= 29 {
		return xt.Errorf("chain name `%s' too long (must be under %d chars)", name, 29)
	}
	if name != "" && (name[0] == '-' || name[0] == '!') {
		return xt.Errorf("chain name not allowed to start with `%c'", name[0])
	}
	if name == "" || xt.LookupTarget(name) != nil || IsStandardTarget(name) {
		return xt.Errorf("chain name may not clash with target name")
	}
	if strings.ContainsAny(name, " \t\n\v\f\r") {
		return xt.Errorf("Invalid chain name `%s'", name)
	}
	return nil
}

func parseTargetName(name string) (string, error) {
	if len(name) < 1 {
		return "", xt.Errorf("Invalid target name (too short)")
	}
	if len(name) >= 29 {
		return "", xt.Errorf("Invalid target name `%s' (%d chars max)", name, 28)
	}
	if strings.ContainsAny(name, " \t\n\v\f\r") {
		return "", xt.Errorf("Invalid target name `%s'", name)
	}
	return name, nil
}

// loadMatch adds a match instance; an earlier one of the same name is
// completed (its options no longer claim the words that follow).
func (p *parser) loadMatch(d *xt.Def) *xt.Instance {
	for _, in := range p.exts {
		if in.Def == d {
			in.Done = true
		}
	}
	in := xt.NewInstance(d)
	p.exts = append(p.exts, in)
	return in
}

// unsupportedError is the message for an extension iptables has and nfgo
// does not (yet), or one nobody has.
func unsupportedError(kind, name string) error {
	if xt.KnownUnsupported(name) {
		return xt.Errorf("Couldn't load %s `%s': not supported by nfgo\n", kind, name)
	}
	return xt.Errorf("Couldn't load %s `%s':No such file or directory\n", kind, name)
}

// ParseCommand parses one iptables command line (without the program
// name). restore is true inside iptables-restore, where -t is refused after
// the table line and -w/-W are not allowed. Warnings are collected in
// Parsed.Warnings.
//
// When parsing fails after warnings were issued (xtables prints them as it
// parses, before the error), the result is non-nil and carries them.
func ParseCommand(args []string, family xt.Family, restore bool, table string) (*Parsed, error) {
	return ParseCommandWarn(args, family, restore, table, nil)
}

// ParseCommandWarn is ParseCommand with warnings delivered to warn the
// moment they arise, as iptables prints them to stderr while parsing.
func ParseCommandWarn(args []string, family xt.Family, restore bool, table string, warn func(string)) (*Parsed, error) {
	pr := &Parsed{Table: "filter", Rule: &Rule{}}
	if warn == nil {
		warn = func(m string) { pr.Warnings = append(pr.Warnings, m) }
	}
	res, err := parseCommand(pr, args, family, restore, table, warn)
	if err != nil && res == nil && len(pr.Warnings) > 0 {
		return &Parsed{Warnings: pr.Warnings}, err
	}
	return res, err
}

func parseCommand(pr *Parsed, args []string, family xt.Family, restore bool, table string, warn func(string)) (*Parsed, error) {
	if table != "" {
		pr.Table = table
	}
	p := &parser{args: args, restore: restore, family: family}
	p.ctx = xt.NewCtx(args, &p.optind)
	p.ctx.Family = family
	p.ctx.Warn = warn
	invert := false
	tableSet := false
	var shostText, dhostText string
	ip := &pr.Rule.IP
	waitIntervalSet := false
	gotoSet := false
	var pcnt, bcnt uint64

	for {
		c := p.getopt()
		if c == codeEnd {
			break
		}
		var err error
		switch c {
		case 'A':
			err = addCommand(&pr.Command, CmdAppend, CmdNone, invert)
			pr.Chain = p.optarg
		case 'C':
			err = addCommand(&pr.Command, CmdCheck, CmdNone, invert)
			pr.Chain = p.optarg
		case 'D':
			err = addCommand(&pr.Command, CmdDelete, CmdNone, invert)
			pr.Chain = p.optarg
			if err == nil && p.xsHasArg() {
				pr.RuleNum, err = parseRuleNumber(p.takeArg())
				pr.Command = CmdDeleteNum
			}
		case 'R':
			err = addCommand(&pr.Command, CmdReplace, CmdNone, invert)
			pr.Chain = p.optarg
			if err == nil {
				if p.xsHasArg() {
					pr.RuleNum, err = parseRuleNumber(p.takeArg())
				} else {
					err = xt.Errorf("-%c requires a rule number", cmd2char(CmdReplace))
				}
			}
		case 'I':
			err = addCommand(&pr.Command, CmdInsert, CmdNone, invert)
			pr.Chain = p.optarg
			if err == nil {
				if p.xsHasArg() {
					pr.RuleNum, err = parseRuleNumber(p.takeArg())
				} else {
					pr.RuleNum = 1
				}
			}
		case 'L', 'S':
			cmd := CmdList
			if c == 'S' {
				cmd = CmdListRules
			}
			err = addCommand(&pr.Command, cmd, CmdZero|CmdZeroNum, invert)
			if err == nil {
				if p.hasArg {
					pr.Chain, pr.ChainGiven = p.optarg, true
				} else if p.xsHasArg() {
					pr.Chain, pr.ChainGiven = p.takeArg(), true
				}
				if p.xsHasArg() {
					pr.RuleNum, err = parseRuleNumber(p.takeArg())
				}
			}
		case 'F':
			err = addCommand(&pr.Command, CmdFlush, CmdNone, invert)
			if err == nil {
				if p.hasArg {
					pr.Chain, pr.ChainGiven = p.optarg, true
				} else if p.xsHasArg() {
					pr.Chain, pr.ChainGiven = p.takeArg(), true
				}
			}
		case 'Z':
			err = addCommand(&pr.Command, CmdZero, CmdList|CmdListRules, invert)
			if err == nil {
				if p.hasArg {
					pr.Chain, pr.ChainGiven = p.optarg, true
				} else if p.xsHasArg() {
					pr.Chain, pr.ChainGiven = p.takeArg(), true
				}
				if p.xsHasArg() {
					pr.RuleNum, err = parseRuleNumber(p.takeArg())
					pr.Command = CmdZeroNum | (pr.Command &^ CmdZero)
				}
			}
		case 'N':
			if err = ValidChainName(p.optarg); err == nil {
				err = addCommand(&pr.Command, CmdNewChain, CmdNone, invert)
			}
			pr.Chain = p.optarg
		case 'X':
			err = addCommand(&pr.Command, CmdDeleteChain, CmdNone, invert)
			if err == nil {
				if p.hasArg {
					pr.Chain, pr.ChainGiven = p.optarg, true
				} else if p.xsHasArg() {
					pr.Chain, pr.ChainGiven = p.takeArg(), true
				}
			}
		case 'E':
			err = addCommand(&pr.Command, CmdRenameChain, CmdNone, invert)
			pr.Chain = p.optarg
			if err == nil {
				if p.xsHasArg() {
					pr.NewName = p.takeArg()
				} else {
					err = xt.Errorf("-%c requires old-chain-name and new-chain-name", cmd2char(CmdRenameChain))
				}
			}
		case 'P':
			err = addCommand(&pr.Command, CmdSetPolicy, CmdNone, invert)
			pr.Chain = p.optarg
			if err == nil {
				if p.xsHasArg() {
					pr.Policy = p.takeArg()
				} else {
					err = xt.Errorf("-%c requires a chain and a policy", cmd2char(CmdSetPolicy))
				}
			}
		case 'h':
			pr.Help = true
			return pr, nil
		case 'p':
			err = setOption(&pr.Options, OptProtocol, &ip.Inv, invert)
			if err == nil {
				p.protoText = strings.ToLower(p.optarg)
				ip.Proto, err = xt.ParseProtocol(p.protoText)
				if err == nil && ip.Proto == 0 && ip.Inv&InvProto != 0 {
					err = xt.Errorf("rule would never match protocol")
				}
				p.ctx.Proto = ip.Proto
				p.ctx.ProtoInv = ip.Inv&InvProto != 0
			}
		case 's':
			err = setOption(&pr.Options, OptSource, &ip.Inv, invert)
			shostText = p.optarg
		case 'd':
			err = setOption(&pr.Options, OptDestination, &ip.Inv, invert)
			dhostText = p.optarg
		case 'g':
			err = setOption(&pr.Options, OptJump, &ip.Inv, invert)
			gotoSet = true
			if err == nil {
				pr.JumpTo, err = parseTargetName(p.optarg)
			}
		case 'j':
			err = setOption(&pr.Options, OptJump, &ip.Inv, invert)
			if err == nil {
				err = p.commandJump(pr, p.optarg)
			}
		case 'i', 'o':
			if p.optarg == "" {
				err = xt.Errorf("Empty interface is likely to be undesired")
				break
			}
			opt := OptViaIn
			if c == 'o' {
				opt = OptViaOut
			}
			err = setOption(&pr.Options, opt, &ip.Inv, invert)
			if err == nil {
				var name string
				name, err = xt.ParseInterface(p.optarg)
				if err == nil && strings.ContainsAny(name, "/ ") {
					warn(fmt.Sprintf("Warning: weird character in interface `%s' ('/' and ' ' are not allowed by the kernel).", name))
				}
				if c == 'i' {
					ip.InIface = name
				} else {
					ip.OutIface = name
				}
			}
		case 'f':
			err = setOption(&pr.Options, OptFragment, &ip.Inv, invert)
			ip.Frag = true
		case 'v':
			if pr.Verbose == 0 {
				err = setOption(&pr.Options, OptVerbose, &ip.Inv, invert)
			}
			pr.Verbose++
		case 'm':
			if invert {
				err = xt.Errorf("unexpected ! flag before --match")
				break
			}
			d := xt.LookupMatch(p.optarg, family)
			if d == nil {
				err = unsupportedError("match", p.optarg)
				break
			}
			p.loadMatch(d)
		case 'n':
			err = setOption(&pr.Options, OptNumeric, &ip.Inv, invert)
		case 't':
			if invert {
				err = xt.Errorf("unexpected ! flag before --table")
				break
			}
			if restore && tableSet {
				err = xt.Errorf("The -t option cannot be used in %s.\n", "iptables-restore")
				break
			}
			pr.Table = p.optarg
			tableSet = true
		case 'x':
			err = setOption(&pr.Options, OptExpanded, &ip.Inv, invert)
		case 'V':
			if invert {
				pr.Version = "Not " + Version + " ;-)"
			} else {
				pr.Version = "iptables v" + Version
			}
			return pr, nil
		case 'w':
			if restore {
				err = xt.Errorf("You cannot use `-w' from iptables-restore")
				break
			}
			pr.Wait = -1
			arg, has := p.optarg, p.hasArg
			if !has && p.xsHasArg() {
				arg, has = p.takeArg(), true
			}
			if has {
				var w int
				if _, e := fmt.Sscanf(arg, "%d", &w); e != nil {
					err = xt.Errorf("wait seconds not numeric")
				}
				pr.Wait = w
			}
		case 'W':
			if restore {
				err = xt.Errorf("You cannot use `-W' from iptables-restore")
				break
			}
			arg, has := p.optarg, p.hasArg
			if !has && p.xsHasArg() {
				arg, has = p.takeArg(), true
			}
			if !has {
				err = xt.Errorf("wait interval value required")
				break
			}
			var usec uint
			if _, e := fmt.Sscanf(arg, "%d", &usec); e != nil {
				err = xt.Errorf("wait interval not numeric")
			} else if usec > 999999 {
				err = xt.Errorf("too long usec wait %d > 999999 usec", usec)
			} else {
				warn("Ignoring deprecated --wait-interval option.")
			}
			waitIntervalSet = true
		case '0':
			err = setOption(&pr.Options, OptLineNumbers, &ip.Inv, invert)
		case 'M':
			// modprobe program: accepted and ignored, there is no module to load.
		case 'c':
			err = setOption(&pr.Options, OptCounters, &ip.Inv, invert)
			if err != nil {
				break
			}
			ps := p.optarg
			bs := ""
			hasB := false
			if len(ps) > 0 {
				if i := strings.IndexByte(ps[1:], ','); i >= 0 {
					bs, hasB = ps[i+2:], true
				}
			}
			if !hasB && p.xsHasArg() {
				bs, hasB = p.takeArg(), true
			}
			if !hasB {
				err = xt.Errorf("-%c requires packet and byte counter", opt2char(OptCounters))
				break
			}
			var ok bool
			if pcnt, ok = scanULL(ps); !ok {
				err = xt.Errorf("-%c packet counter not numeric", opt2char(OptCounters))
			} else if bcnt, ok = scanULL(bs); !ok {
				err = xt.Errorf("-%c byte counter not numeric", opt2char(OptCounters))
			}
		case '4':
			if family != xt.FamilyIPv4 {
				return nil, &xt.Error{Status: xt.ParameterProblem, Msg: ""}
			}
		case '6':
			if family != xt.FamilyIPv6 {
				if restore {
					pr.Command = CmdNone
					return pr, errSkipLine
				}
				return nil, errTryHelpOnly
			}
		case 'b':
			err = xt.Errorf("unknown option \"%s\"", p.lastArg)
		case codeNonOpt:
			if p.optarg == "!" {
				if invert {
					err = xt.Errorf("multiple consecutive ! not allowed")
					break
				}
				invert = true
				continue
			}
			return nil, &BadArgError{Arg: p.optarg}
		default:
			var retry bool
			retry, err = p.commandDefault(c, invert)
			if err == nil && retry {
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		invert = false
	}

	if pr.Table == "nat" && (pr.Policy == "DROP" || pr.JumpTo == "DROP") {
		return nil, xt.Errorf("\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n")
	}
	if pr.Wait == 0 && waitIntervalSet {
		return nil, xt.Errorf("--wait-interval only makes sense with --wait\n")
	}
	p.ctx.Table = pr.Table
	p.ctx.Chain = pr.Chain
	for _, in := range p.exts {
		if in.Def.Kind == xt.KindMatch {
			if err := in.Final(p.ctx); err != nil {
				return nil, err
			}
		}
	}
	if p.target != nil {
		if err := p.target.Final(p.ctx); err != nil {
			return nil, err
		}
	}
	if p.optind < len(p.args) {
		return nil, xt.Errorf("unknown arguments found on commandline")
	}
	if pr.Command == CmdNone {
		return nil, xt.Errorf("no command specified")
	}
	if invert {
		return nil, xt.Errorf("nothing appropriate following !")
	}

	// ipv4_post_parse
	if gotoSet {
		pr.Rule.Goto = true
	}
	pr.Rule.Counters = Counters{pcnt, bcnt}
	if pr.Command&(CmdReplace|CmdInsert|CmdDelete|CmdAppend|CmdCheck) != 0 {
		if pr.Options&OptDestination == 0 {
			dhostText = "0.0.0.0/0"
		}
		if pr.Options&OptSource == 0 {
			shostText = "0.0.0.0/0"
		}
	}
	var err error
	if shostText != "" {
		if pr.Srcs, err = xt.ParseIPv4Multiple(shostText); err != nil {
			return nil, err
		}
	}
	if dhostText != "" {
		if pr.Dsts, err = xt.ParseIPv4Multiple(dhostText); err != nil {
			return nil, err
		}
	}
	if (len(pr.Srcs) > 1 || len(pr.Dsts) > 1) && ip.Inv&(InvSrcIP|InvDstIP) != 0 {
		return nil, xt.Errorf("! not allowed with multiple source or destination IP addresses")
	}
	if pr.Command == CmdReplace && (len(pr.Srcs) != 1 || len(pr.Dsts) != 1) {
		return nil, xt.Errorf("Replacement rule does not specify a unique address")
	}
	if err := genericOptCheck(pr.Command, pr.Options); err != nil {
		return nil, err
	}
	if len(pr.Chain) >= 29 {
		return nil, xt.Errorf("chain name `%s' too long (must be under %d chars)", pr.Chain, 29)
	}
	if pr.Command&(CmdAppend|CmdDelete|CmdDeleteNum|CmdCheck|CmdInsert|CmdReplace) != 0 {
		if (pr.Chain == "PREROUTING" || pr.Chain == "INPUT") && pr.Options&OptViaOut != 0 {
			return nil, xt.Errorf("Can't use -%c with %s\n", 'o', pr.Chain)
		}
		if (pr.Chain == "POSTROUTING" || pr.Chain == "OUTPUT") && pr.Options&OptViaIn != 0 {
			return nil, xt.Errorf("Can't use -%c with %s\n", 'i', pr.Chain)
		}
	}
	if len(pr.Srcs) > 0 {
		ip.Src, ip.SrcMask = pr.Srcs[0].Addr, pr.Srcs[0].Mask
	}
	if len(pr.Dsts) > 0 {
		ip.Dst, ip.DstMask = pr.Dsts[0].Addr, pr.Dsts[0].Mask
	}
	for _, in := range p.exts {
		if in.Def.Kind == xt.KindMatch {
			pr.Rule.Matches = append(pr.Rule.Matches, in)
		}
	}
	pr.Rule.Target = p.target
	pr.TargetIsExt = p.target != nil
	if p.target == nil {
		pr.Rule.Jump = pr.JumpTo
	}
	return pr, nil
}

// Sentinel errors for the restore loop and the -4/-6 options.
var (
	errSkipLine    = &xt.Error{Status: 0, Msg: "skip"}
	errTryHelpOnly = &xt.Error{Status: xt.ParameterProblem, Msg: ""}
)

// IsSkipLine reports whether a restore line is to be ignored (-6 in an
// IPv4 restore).
func IsSkipLine(err error) bool { return err == errSkipLine }

// IsTryHelpOnly reports an error printed as only the "Try" hint.
func IsTryHelpOnly(err error) bool { return err == errTryHelpOnly }

// BadArgError is "Bad argument `x'" followed by the help hint.
type BadArgError struct{ Arg string }

func (e *BadArgError) Error() string { return "Bad argument `" + e.Arg + "'" }

func scanULL(s string) (uint64, bool) {
	var v uint64
	// sscanf("%llu") skips leading space and stops at the first non-digit.
	s = strings.TrimLeft(s, " \t\n")
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + uint64(s[n]-'0')
		n++
	}
	return v, n > 0
}

// illegalOpts[j] is the set of options command j forbids.
var illegalOpts = func() (m [numCmds]int) {
	for j := 0; j < numCmds; j++ {
		for i := 0; i < numOpts; i++ {
			if commandsVOptions[j][i] == 'x' {
				m[j] |= 1 << i
			}
		}
	}
	return
}()

// genericOptCheck is generic_opt_check: an option is legal if any of the
// given commands allows it.
func genericOptCheck(command, options int) error {
	if options == 0 {
		return nil
	}
	for i := 0; i < numOpts; i++ {
		if options&(1<<i) == 0 {
			continue
		}
		illegal, any := true, false
		for j := 0; j < numCmds; j++ {
			if command&(1<<j) == 0 {
				continue
			}
			any = true
			if illegalOpts[j]&(1<<i) == 0 {
				illegal = false
				break
			}
		}
		if any && illegal {
			return xt.Errorf("Illegal option `-%c' with this command", optflags[i])
		}
	}
	return nil
}

func (p *parser) commandJump(pr *Parsed, name string) error {
	var err error
	if pr.JumpTo, err = parseTargetName(name); err != nil {
		return err
	}
	d := xt.LookupTarget(name)
	if d == nil || d.Family != xt.FamilyAny && d.Family != p.family {
		return nil
	}
	p.target = xt.NewInstance(d)
	p.exts = append(p.exts, p.target)
	return nil
}

// commandDefault is iptables' command_default: route an extension option
// to the target or a match, or load the protocol's match and retry.
func (p *parser) commandDefault(c int, invert bool) (bool, error) {
	if c >= extCodeBase {
		idx := (c - extCodeBase) / 64
		opt := (c - extCodeBase) % 64
		in := p.exts[idx]
		if in.Def.Kind == xt.KindMatch && in.Done {
			// A completed match no longer takes options; getopt would
			// have found the newer instance first, so this is rare.
		}
		p.ctx.Proto = p.ctxProto()
		return false, in.ParseOption(p.ctx, opt, p.optarg, p.hasArg, invert)
	}
	if p.protoText != "" && !p.protoUsed {
		if d := p.findProto(); d != nil {
			p.protoUsed = true
			p.loadMatch(d)
			// Rerun getopt on the same word.
			p.optind--
			p.nextc = ""
			return true, nil
		}
	}
	if c == codeMissing {
		return false, xt.Errorf("option \"%s\" requires an argument", p.lastArg)
	}
	if c == codeUnknown {
		return false, xt.Errorf("unknown option \"%s\"", p.lastArg)
	}
	return false, xt.Errorf("Unknown arg \"%s\"", p.optarg)
}

func (p *parser) ctxProto() uint8 { return p.ctx.Proto }

// findProto is find_proto: the match named after the -p protocol.
func (p *parser) findProto() *xt.Def {
	name := p.protoText
	if v, ok := xt.ParseUint(name, 0, 255); ok {
		n, ok := xt.ProtoToName(uint8(v), true)
		if !ok {
			return nil
		}
		name = n
	}
	return xt.LookupMatch(name, p.family)
}

// Version is the iptables version nfgo speaks.
const Version = "1.8.9 (legacy)"
