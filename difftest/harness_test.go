package difftest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/tools/iptables"
	"github.com/nfgo/nfgo/xt"
)

// ---------------------------------------------------------------------------
// Known differences, excluded by name.
//
// nfgo follows upstream iptables 1.8.13 (the conformance vectors) where it
// disagrees with the 1.8.9 binary installed here; the extension or framework
// file says so in a "// 1.8.13:" comment naming the entry below. A command
// (or a restore input) matching an entry's pattern is run on both sides but
// not compared, and both sides are then put back to the ruleset they had
// before it, so that the difference does not leak into later listings.
// ---------------------------------------------------------------------------

type knownDiff struct {
	Name   string
	Re     *regexp.Regexp         // matched against the command line or restore input
	Fn     func(text string) bool // or this test
	Reason string
}

var optArg = regexp.MustCompile(`--([a-z-]+)\s+(\S+)`)

// descending reports whether one of the named options has an "A:B"
// argument with A > B (both numeric).
func descending(names ...string) func(string) bool {
	return func(text string) bool {
		for _, m := range optArg.FindAllStringSubmatch(text, -1) {
			if !contains(names, m[1]) {
				continue
			}
			a, b, ok := strings.Cut(m[2], ":")
			if !ok || a == "" || b == "" {
				continue
			}
			x, err1 := strconv.ParseUint(a, 0, 64)
			y, err2 := strconv.ParseUint(b, 0, 64)
			if err1 == nil && err2 == nil && x > y {
				return true
			}
		}
		return false
	}
}

// secondOver matches "--NAME A:B" with A in range (and not 0) and B
// beyond max: 1.8.13's range parser names A as the lower bound in its
// message, 1.8.9's names 0.
func secondOver(name string, max uint64) func(string) bool {
	return func(text string) bool {
		for _, m := range optArg.FindAllStringSubmatch(text, -1) {
			if m[1] != name {
				continue
			}
			a, b, ok := strings.Cut(m[2], ":")
			if !ok || a == "" || b == "" {
				continue
			}
			x, err1 := strconv.ParseUint(a, 0, 64)
			y, err2 := strconv.ParseUint(b, 0, 64)
			if err1 == nil && x > 0 && x <= max && (err2 != nil || y > max) {
				return true
			}
		}
		return false
	}
}

var knownDiffs = []knownDiff{
	{
		Name:   "iface-inverted-plus",
		Re:     regexp.MustCompile(`(^|\s)!\s+(-i|-o|--in-interface|--out-interface)\s+\+(\s|$)`),
		Reason: `1.8.13 saves "! -i +" as given; 1.8.9 drops it from iptables-save/-S (rules/print.go saveIface)`,
	},
	{
		Name:   "tcp-inverted-full-range",
		Re:     regexp.MustCompile(`(^|\s)!\s+--(sport|dport|source-port|destination-port)\s+(0?:(65535)?|:65535|0:65535)(\s|$)`),
		Reason: `1.8.13 saves an inverted full port range as "! --sport 0:65535"; 1.8.9 drops it (xt/tcp.go SavePorts)`,
	},
	{
		Name: "long-option-equals-arg",
		Re:   regexp.MustCompile(`(^|\s)--(protocol|source|src|destination|dst|jump|in-interface|out-interface)=`),
		Reason: `1.8.9 reads -p/-s/-d/-j/-i/-o arguments from argv[optind-1], so "--protocol=tcp" is taken as ` +
			`protocol "--protocol=tcp" (an upstream bug, fixed by 1.8.13's check_inverse); nfgo uses the value after "="`,
	},
	{
		Name:   "portrc-negative-range",
		Fn:     descending("sport", "dport", "source-port", "destination-port"),
		Reason: `1.8.13 refuses a descending port range ("Port range 4-3 is negative."); 1.8.9 accepts and saves it (xt/udp.go ParsePortRC)`,
	},
	{
		Name:   "conntrack-port-range-negative",
		Fn:     descending("ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport"),
		Reason: `1.8.13 refuses a descending --ct*port range; 1.8.9 accepts it (xt/conntrack.go parsePortRC)`,
	},
	{
		Name:   "conntrack-expire-range-negative",
		Fn:     descending("ctexpire"),
		Reason: `1.8.13 refuses "--ctexpire 4:3"; 1.8.9 accepts it (xt/conntrack.go parseU32Range)`,
	},
	{
		Name:   "conntrack-proto-zero",
		Re:     regexp.MustCompile(`--ctproto\s+0(\s|$)`),
		Reason: `1.8.13 refuses "--ctproto 0"; 1.8.9 accepts it (xt/conntrack.go)`,
	},
	{
		Name:   "icmp-type-255-code",
		Re:     regexp.MustCompile(`--icmp-type\s+(255|0xff)/`),
		Reason: `1.8.13 saves type 255 as "any" only with the full code range; 1.8.9 saves every type 255 as "any" (xt/icmp.go Save)`,
	},
	{
		Name:   "mint-descending-range",
		Fn:     descending("length"),
		Reason: `1.8.13's range parser refuses "--length 4:3"; 1.8.9 accepts and saves it (xt/length.go ParseMintRange)`,
	},
	{
		Name:   "mint-range-lower-bound",
		Fn:     secondOver("length", 0xFFFF),
		Reason: `for "--length 65535:131077" 1.8.13's range parser says "out of range (65535-65535)", 1.8.9's "(0-65535)" (xt/length.go ParseMintRange)`,
	},
	{
		Name:   "tcpmss-reversed-range",
		Fn:     descending("mss"),
		Reason: `both refuse "--mss 65535:1000", with different messages (1.8.13 libxtables' range error, 1.8.9 "tcpmss: invalid range given"; xt/tcpmss.go)`,
	},
	{
		Name: "connlimit-check-unstable",
		Re:   regexp.MustCompile(`(^|\s)(-C|--check)\s.*--match connlimit`),
		Reason: `in the random sequence (seed 20240601) the kernel answers -C for an identical connlimit rule with ` +
			`"Bad rule"; replaying the same commands with iptables-legacy in a fresh namespace answers 0 (found), ` +
			`as nfgo does. Not yet explained; kept visible here rather than hidden`,
	},
	{
		Name:   "unsupported-extension",
		Re:     regexp.MustCompile(`(^|\s)(-m|--match)\s+u32(\s|$)`),
		Reason: `nfgo does not implement u32 and refuses it with "Couldn't load match ` + "`u32'" + `: not supported by nfgo" (deliberate: never accept an extension silently)`,
	},
	{
		Name: "newline-in-argument",
		Fn: func(text string) bool {
			// A restore input line with an odd number of double quotes
			// leaves a quote open at the line break.
			lines := strings.Split(text, "\n")
			for _, l := range lines[1:] { // the restore input, after the command
				if strings.Count(l, `"`)%2 == 1 {
					return true
				}
			}
			return false
		},
		Reason: `an unterminated quote in an iptables-restore line puts a line break into the argument; the kernel keeps it, ` +
			`but no iptables-restore line can express it, so nfgo's text store refuses the rule with an explanation (rules/storable.go)`,
	},
}

func matchKnown(text string) *knownDiff {
	for i := range knownDiffs {
		k := &knownDiffs[i]
		if k.Re != nil && k.Re.MatchString(text) || k.Fn != nil && k.Fn(text) {
			return &knownDiffs[i]
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Scoreboard.
// ---------------------------------------------------------------------------

type score struct {
	mu                    sync.Mutex
	name                  string
	same, differ, skipped int
	skippedBy             map[string]int
	reported              int
}

var board struct {
	mu     sync.Mutex
	scores []*score
}

// maxReports bounds the detailed difference reports per scenario; the rest
// are only counted.
const maxReports = 40

func newScore(t *testing.T, name string) *score {
	s := &score{name: name, skippedBy: map[string]int{}}
	board.mu.Lock()
	board.scores = append(board.scores, s)
	board.mu.Unlock()
	t.Cleanup(func() {
		t.Log(s.line())
		if s.differ > s.reported {
			t.Logf("%d more differences not shown", s.differ-s.reported)
		}
	})
	return s
}

func (s *score) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := fmt.Sprintf("%-28s identical %5d   differing %5d   skipped %4d", s.name, s.same, s.differ, s.skipped)
	if len(s.skippedBy) > 0 {
		var names []string
		for n, c := range s.skippedBy {
			names = append(names, fmt.Sprintf("%s×%d", n, c))
		}
		sort.Strings(names)
		l += "  (" + strings.Join(names, ", ") + ")"
	}
	return l
}

// kernelSets are the ipsets created in the kernel namespaces. nfgo has no
// ipset of its own yet, so the in-process nfgo is told that exactly these
// exist (xt.LookupSet): both sides then see the same sets, and the
// differential tests compare the iptables language, not set management.
var kernelSets = struct {
	sync.Mutex
	m map[string]xt.Family
}{m: map[string]xt.Family{}}

func registerSet(args []string) {
	if len(args) < 3 || (args[0] != "create" && args[0] != "-N" && args[0] != "n") {
		return
	}
	fam := xt.FamilyIPv4
	for i, a := range args {
		if a == "family" && i+1 < len(args) && args[i+1] == "inet6" {
			fam = xt.FamilyIPv6
		}
	}
	kernelSets.Lock()
	kernelSets.m[args[1]] = fam
	kernelSets.Unlock()
}

// lookupKernelSet answers from the sets created in the kernel namespaces.
func lookupKernelSet(name string) (xt.Family, bool) {
	kernelSets.Lock()
	defer kernelSets.Unlock()
	f, ok := kernelSets.m[name]
	return f, ok
}

func TestMain(m *testing.M) {
	code := m.Run()
	board.mu.Lock()
	if len(board.scores) > 0 {
		fmt.Println("differential scoreboard (kernel iptables-legacy 1.8.9 vs nfgo):")
		tot := &score{name: "TOTAL", skippedBy: map[string]int{}}
		for _, s := range board.scores {
			fmt.Println("  " + s.line())
			tot.same += s.same
			tot.differ += s.differ
			tot.skipped += s.skipped
			for n, c := range s.skippedBy {
				tot.skippedBy[n] += c
			}
		}
		fmt.Println("  " + tot.line())
	}
	board.mu.Unlock()
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// The pair: one kernel namespace and one nfgo state directory.
// ---------------------------------------------------------------------------

type tool int

const (
	toolIPT tool = iota
	toolSave
	toolRestore
)

var toolName = [...]string{"iptables", "iptables-save", "iptables-restore"}

type result struct {
	Stdout, Stderr string
	Code           int
}

type pair struct {
	t      *testing.T
	ns     *netns.NS
	dir    string
	sc     *score
	tables []string // tables the scenario used, in first-use order
	logged map[string]bool
	last   result // the kernel's result of the last compared command
}

// readOnly tells listing and checking commands (-L, -S, -C) from those that
// change the ruleset.
func readOnly(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--list" || a == "--list-rules" || a == "--check":
			return true
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			// -L, -S, -C, alone or joined (-nvL); not with -Z (zeroes)
			if strings.ContainsAny(a[1:], "LSC") && !strings.Contains(a[1:], "Z") {
				return true
			}
		}
	}
	return false
}

func requireNetns(t *testing.T) {
	t.Helper()
	if ok, why := netns.Available(); !ok {
		t.Skip("differential tests need root, network namespaces and iptables-legacy: " + why)
	}
}

// newPair makes a fresh namespace and state directory for one scenario.
func newPair(t *testing.T, sc *score) *pair {
	t.Helper()
	requireNetns(t)
	return &pair{t: t, ns: netns.New(t), dir: t.TempDir(), sc: sc, logged: map[string]bool{}}
}

func (p *pair) useTable(name string) {
	for _, t := range p.tables {
		if t == name {
			return
		}
	}
	p.tables = append(p.tables, name)
}

// tableOf finds the -t argument of an iptables command line.
func tableOf(args []string) string {
	table := "filter"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-t" || a == "--table":
			if i+1 < len(args) {
				table = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--table="):
			table = a[len("--table="):]
		case strings.HasPrefix(a, "-t") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			table = a[2:]
		}
	}
	return table
}

func (p *pair) kernel(tl tool, stdin string, args []string) result {
	for try := 0; ; try++ {
		var in io.Reader
		if tl == toolRestore || stdin != "" {
			in = strings.NewReader(stdin)
		}
		// Run the legacy multi-call binary under the tool's own name, as
		// nfgo is called: getopt's messages quote argv[0].
		cmd := append([]string{"bash", "-c", `exec -a "$0" xtables-legacy-multi "$@"`, toolName[tl]}, args...)
		o, e, c := p.ns.RunInput(in, cmd...)
		// The xtables lock (/run/xtables.lock) is shared with every other
		// namespace on the machine: retry when someone else holds it.
		if c == 4 && strings.Contains(e, "holding the xtables lock") && try < 300 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return result{o, e, c}
	}
}

func (p *pair) nfgo(tl tool, stdin string, args []string) (r result) {
	var o, e bytes.Buffer
	env := &iptables.Env{Stdin: strings.NewReader(stdin), Stdout: &o, Stderr: &e, StateDir: p.dir, Sets: lookupKernelSet}
	defer func() {
		if x := recover(); x != nil {
			r = result{o.String(), e.String() + fmt.Sprintf("PANIC: %v\n%s", x, debug.Stack()), -2}
		}
	}()
	a := append([]string(nil), args...)
	var c int
	switch tl {
	case toolIPT:
		c = iptables.Main(a, env)
	case toolSave:
		c = iptables.SaveMain(a, env)
	case toolRestore:
		c = iptables.RestoreMain(a, env)
	}
	return result{o.String(), e.String(), c}
}

var saveComment = regexp.MustCompile(`(?m)^# (Generated by iptables-save|Completed on) .*\n`)

func normalize(tl tool, r result) result {
	if tl == toolSave {
		r.Stdout = saveComment.ReplaceAllString(r.Stdout, "")
	}
	return r
}

// ipt, save and restore run one command on both sides and compare.
func (p *pair) ipt(args ...string) bool { return p.run(toolIPT, "", args...) }
func (p *pair) save(args ...string) bool {
	return p.run(toolSave, "", args...)
}
func (p *pair) restore(input string, args ...string) bool {
	return p.run(toolRestore, input, args...)
}

// both runs a command on both sides without comparing (setup).
func (p *pair) both(tl tool, stdin string, args ...string) (k, n result) {
	return p.kernel(tl, stdin, args), p.nfgo(tl, stdin, args)
}

func (p *pair) run(tl tool, stdin string, args ...string) bool {
	p.t.Helper()
	if tl == toolIPT {
		p.useTable(tableOf(args))
	}
	cmd := strings.TrimSpace(toolName[tl] + " " + shellJoin(args))
	if kd := matchKnown(cmd + "\n" + stdin); kd != nil {
		snap := p.kernel(toolSave, "", []string{"-c"})
		p.last, _ = p.both(tl, stdin, args...)
		p.kernel(toolRestore, snap.Stdout, []string{"-c"})
		p.resync()
		p.sc.mu.Lock()
		p.sc.skipped++
		p.sc.skippedBy[kd.Name]++
		p.sc.mu.Unlock()
		return true
	}
	k := normalize(tl, p.kernel(tl, stdin, args))
	n := normalize(tl, p.nfgo(tl, stdin, args))
	p.last = k
	same := k == n
	p.sc.mu.Lock()
	if same {
		p.sc.same++
	} else {
		p.sc.differ++
	}
	show := !same && p.sc.reported < maxReports
	if show {
		p.sc.reported++
	}
	p.sc.mu.Unlock()
	if show {
		p.t.Errorf("%s", describe(cmd, stdin, k, n))
	}
	if !same && tl != toolSave && !readOnly(args) {
		// Keep later comparisons about later commands: nfgo takes over
		// whatever the kernel ended up with.
		p.resync()
	}
	return same
}

// resync makes nfgo's ruleset the kernel's: a fresh state directory with
// the tables initialised in the kernel's order, then the kernel's
// iptables-save -c fed to nfgo's iptables-restore -c.
func (p *pair) resync() {
	snap := p.kernel(toolSave, "", []string{"-c"})
	p.dir = p.t.TempDir()
	var order []string
	for _, l := range strings.Split(snap.Stdout, "\n") {
		if strings.HasPrefix(l, "*") {
			order = append(order, l[1:])
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		p.nfgo(toolIPT, "", []string{"-t", order[i], "-S"})
	}
	// Best effort: lines nfgo refuses (an extension it lacks, say) are
	// dropped one at a time, so that the rest still follows the kernel.
	input := snap.Stdout
	dropped := false
	for try := 0; try < 100; try++ {
		r := p.nfgo(toolRestore, input, []string{"-c"})
		if r.Code == 0 {
			break
		}
		m := errLine.FindStringSubmatch(r.Stderr)
		if m == nil {
			p.t.Logf("resync: nfgo's iptables-restore -c refused the kernel's ruleset: %s", r.Stderr)
			break
		}
		n, _ := strconv.Atoi(m[1])
		lines := strings.SplitAfter(input, "\n")
		if n < 1 || n > len(lines) || !strings.Contains(lines[n-1], "-A ") {
			p.t.Logf("resync: nfgo's iptables-restore -c refused the kernel's ruleset: %s", r.Stderr)
			break
		}
		msg := fmt.Sprintf("resync: nfgo refuses the kernel's rule %q: %s", strings.TrimSpace(lines[n-1]), firstLine(r.Stderr))
		if !p.logged[msg] {
			p.logged[msg] = true
			p.t.Log(msg)
		}
		input = strings.Join(append(lines[:n-1:n-1], lines[n:]...), "")
		dropped = true
	}
	if dropped {
		// The kernel drops them as well, so that both sides agree again.
		if r := p.kernel(toolRestore, input, []string{"-c"}); r.Code != 0 {
			p.t.Logf("resync: the kernel refuses the filtered ruleset: %s", r.Stderr)
		}
	}
}

var errLine = regexp.MustCompile(`Error occurred at line: (\d+)`)

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// countDiff counts a difference and tells whether to report it in detail.
func (p *pair) countDiff() bool {
	p.sc.mu.Lock()
	defer p.sc.mu.Unlock()
	p.sc.differ++
	if p.sc.reported < maxReports {
		p.sc.reported++
		return true
	}
	return false
}

// listings compares every listing form for the tables the scenario used.
func (p *pair) listings() {
	p.t.Helper()
	for _, table := range p.tables {
		var tt []string
		if table != "filter" {
			tt = []string{"-t", table}
		}
		for _, l := range [][]string{
			{"-S"},
			{"-L", "-n", "-v", "--line-numbers", "-x"},
			{"-L"},
			{"-L", "-v"},
			{"-L", "-n"},
		} {
			p.ipt(append(append([]string(nil), tt...), l...)...)
		}
		p.save("-t", table)
	}
	p.save()
	p.save("-c")
}

// unchanged checks that both sides still hold the same ruleset (after a
// refused command); on a difference it reports and resyncs.
func (p *pair) unchanged(after string) {
	p.t.Helper()
	k := normalize(toolSave, p.kernel(toolSave, "", []string{"-c"}))
	n := normalize(toolSave, p.nfgo(toolSave, "", []string{"-c"}))
	if k != n {
		if p.countDiff() {
			p.t.Errorf("ruleset differs after %s\n%s", after, describe("iptables-save -c", "", k, n))
		}
		p.resync()
	}
}

// ---------------------------------------------------------------------------
// Reporting.
// ---------------------------------------------------------------------------

func describe(cmd, stdin string, k, n result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "DIFFERENCE: %s\n", cmd)
	if stdin != "" {
		b.WriteString("  standard input:\n")
		for _, l := range strings.SplitAfter(strings.TrimSuffix(stdin, "\n"), "\n") {
			b.WriteString("    | " + strings.TrimSuffix(l, "\n") + "\n")
		}
	}
	if k.Code != n.Code {
		fmt.Fprintf(&b, "  exit status: kernel %d, nfgo %d\n", k.Code, n.Code)
	} else {
		fmt.Fprintf(&b, "  exit status: %d (both)\n", k.Code)
	}
	if k.Stdout != n.Stdout {
		b.WriteString("  stdout (--- kernel, +++ nfgo):\n")
		b.WriteString(unifiedDiff(k.Stdout, n.Stdout))
	}
	if k.Stderr != n.Stderr {
		b.WriteString("  stderr (--- kernel, +++ nfgo):\n")
		b.WriteString(unifiedDiff(k.Stderr, n.Stderr))
	}
	return b.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// unifiedDiff renders a line diff with three lines of context. Lines are
// shown with a visible end: "⏎" for a newline, "∅" where the text ends
// without one; trailing blanks are therefore visible before the mark.
func unifiedDiff(a, b string) string {
	al, bl := splitLines(a), splitLines(b)
	type op struct {
		kind byte // ' ', '-', '+'
		line string
	}
	var ops []op
	n, m := len(al), len(bl)
	if n*m > 4_000_000 {
		for _, l := range al {
			ops = append(ops, op{'-', l})
		}
		for _, l := range bl {
			ops = append(ops, op{'+', l})
		}
	} else {
		// lcs[i][j] = LCS length of al[i:], bl[j:]
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if al[i] == bl[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else if lcs[i+1][j] >= lcs[i][j+1] {
					lcs[i][j] = lcs[i+1][j]
				} else {
					lcs[i][j] = lcs[i][j+1]
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && al[i] == bl[j]:
				ops = append(ops, op{' ', al[i]})
				i++
				j++
			case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
				ops = append(ops, op{'+', bl[j]})
				j++
			default:
				ops = append(ops, op{'-', al[i]})
				i++
			}
		}
	}
	const ctx = 3
	keep := make([]bool, len(ops))
	for i, o := range ops {
		if o.kind != ' ' {
			for k := i - ctx; k <= i+ctx; k++ {
				if k >= 0 && k < len(ops) {
					keep[k] = true
				}
			}
		}
	}
	var sb strings.Builder
	skipped := false
	for i, o := range ops {
		if !keep[i] {
			skipped = true
			continue
		}
		if skipped {
			sb.WriteString("    @@ …\n")
			skipped = false
		}
		line := o.line
		if strings.HasSuffix(line, "\n") {
			line = strings.TrimSuffix(line, "\n") + "⏎"
		} else {
			line += "∅"
		}
		sb.WriteString("    ")
		sb.WriteByte(o.kind)
		sb.WriteString(line)
		sb.WriteByte('\n')
	}
	if skipped {
		sb.WriteString("    @@ …\n")
	}
	return sb.String()
}

// shellJoin quotes words for display the way a shell user would type them.
func shellJoin(args []string) string {
	var out []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			out = append(out, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		} else {
			out = append(out, a)
		}
	}
	return strings.Join(out, " ")
}

// words splits a command line written in test data: whitespace separates
// words, single or double quotes group them (no escapes inside).
func words(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				panic("unbalanced quote in test data: " + s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == ' ' || c == '\t':
			if in || cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
		}
	}
	if in || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// script runs test-data lines: "iptables ARGS", "iptables-save ARGS",
// "ipset ARGS" (kernel side only: nfgo has no sets yet); blank lines and
// lines starting with "#" are ignored.
func (p *pair) script(lines string) {
	p.t.Helper()
	for _, l := range strings.Split(lines, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		w := words(l)
		switch w[0] {
		case "iptables":
			p.ipt(w[1:]...)
		case "iptables-save":
			p.save(w[1:]...)
		case "ipset":
			p.ns.MustRun(p.t, w...)
			registerSet(w[1:])
		default:
			p.t.Fatalf("bad script line %q", l)
		}
	}
}
