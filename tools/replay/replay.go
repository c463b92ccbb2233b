// Package replay implements "nfgo replay": a host's captured traffic run
// through a ruleset as that host's kernel would have run it, on the
// capture's clock, with the LOG and TRACE lines, each packet's path and
// verdict, the final counters and connection table, and every
// disagreement between what the host did and what nfgo does. No root is
// needed and nothing is sent.
package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nfgo/nfgo/ipset"
	"github.com/schollz/progressbar/v3"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/offline"
	"github.com/nfgo/nfgo/logpipe"
	"github.com/nfgo/nfgo/netfilter"
	rp "github.com/nfgo/nfgo/replay"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// Env is the process environment.
type Env struct {
	Stdout, Stderr io.Writer
	StateDir       string
}

const usage = `Usage: nfgo replay [OPTIONS] CAPTURE...

Runs captured traffic through a host's ruleset as the host's kernel would
have: verdicts, LOG and TRACE lines, counters, connection tracking.
A CAPTURE is FILE or IFACE=FILE (pcap or pcapng; Ethernet, Linux cooked
v1/v2 as "tcpdump -i any" writes, raw IP). IFACE= names the interface of
packets whose capture does not record one; they are taken as received.

Options:
  --rules FILE          ruleset in iptables-save format (default: the rule store)
  --ipsets FILE         sets in ipset save format (default: the store's)
  --host FILE           interfaces, as printed by "ip -j addr show"
  --routes FILE         routes, as printed by "ip -j route show"
  --no-forward          the host did not forward (default: it did)
  --log FILE            LOG and TRACE lines, kernel format, each after
                        "[seconds.micros] " of capture time (with
                        --log-route: the lines no route takes)
  --log-route PREFIX=TARGET
                        lines starting with PREFIX go to TARGET and nowhere
                        else (PREFIX+=TARGET: also on to later routes and
                        --log), as an rsyslog rule ":msg, startswith,
                        PREFIX" with "& stop"; TARGET is a file, - (stdout)
                        or syslog[:SOCKET] (as kernel lines reach syslog);
                        first match wins; repeatable. A PREFIX with "=" in
                        it is quoted: '"IN=eth1 "=eth1.log'
  --log-rotate SPEC     rotate the log files on capture time, as logrotate
                        with dateext: daily, size=N[k|M|G], keep=N (30),
                        compress, delaycompress, comma-separated, e.g.
                        daily,keep=30,compress (FILE-YYYYMMDD[.gz]; with
                        size, FILE-YYYYMMDD-UNIXSECONDS[.gz])
                        Log files are written anew by each run (their
                        rotated files from an earlier run are deleted).
  --verdicts FILE       one JSON line per packet: its path and verdict
  --save-counters FILE  the final counters, as iptables-save -c prints them
  --conntrack FILE      the final connection table, as conntrack -L prints it
  --conntrack-events FILE
                        the connection tracking events, as conntrack -E
                        prints them (NEW, UPDATE, DESTROY)
  --save-sets FILE      the final sets, as ipset save prints them
  --recent DIR          the final recent lists, one file per list as
                        /proc/net/xt_recent shows them
  --accepted FILE       the received packets nfgo accepted (pcap, raw IPv4)
  --dropped FILE        the received packets nfgo dropped (pcap, raw IPv4)
  --quiet               no summary
`

type options struct {
	rulesFile, ipsetsFile, hostFile, routesFile string
	logFile, verdictsFile, countersFile, ctFile string
	setsFile, recentDir, acceptedFile           string
	droppedFile, ctEventsFile                   string
	noForward, quiet                            bool
	captures                                    []string
	logRoutes                                   []logpipe.RouteSpec
	logRotate                                   *logpipe.Rotate
}

func parseArgs(args []string) (*options, error) {
	o := &options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs an argument", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-h", "--help":
			return nil, errHelp
		case "--rules":
			o.rulesFile, err = val()
		case "--ipsets":
			o.ipsetsFile, err = val()
		case "--host":
			o.hostFile, err = val()
		case "--routes":
			o.routesFile, err = val()
		case "--log":
			o.logFile, err = val()
		case "--log-route":
			var v string
			if v, err = val(); err == nil {
				var r logpipe.RouteSpec
				if r, err = logpipe.ParseRoute(v); err == nil {
					o.logRoutes = append(o.logRoutes, r)
				}
			}
		case "--log-rotate":
			var v string
			if v, err = val(); err == nil {
				var r logpipe.Rotate
				if r, err = logpipe.ParseRotate(v); err == nil {
					o.logRotate = &r
				}
			}
		case "--verdicts":
			o.verdictsFile, err = val()
		case "--save-counters":
			o.countersFile, err = val()
		case "--conntrack":
			o.ctFile, err = val()
		case "--conntrack-events":
			o.ctEventsFile, err = val()
		case "--save-sets":
			o.setsFile, err = val()
		case "--recent":
			o.recentDir, err = val()
		case "--accepted":
			o.acceptedFile, err = val()
		case "--dropped":
			o.droppedFile, err = val()
		case "--no-forward":
			o.noForward = true
		case "--quiet":
			o.quiet = true
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return nil, fmt.Errorf("unknown option %q", a)
			}
			o.captures = append(o.captures, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(o.captures) == 0 {
		return nil, fmt.Errorf("no capture given")
	}
	if o.logRotate != nil && o.logFile == "" && len(o.logRoutes) == 0 {
		return nil, fmt.Errorf("--log-rotate rotates the files of --log and --log-route, and none is given")
	}
	return o, nil
}

var errHelp = fmt.Errorf("help")

func fail(env *Env, f string, a ...any) int {
	fmt.Fprintf(env.Stderr, "nfgo replay: "+f+"\n", a...)
	return 1
}

// Main runs "nfgo replay ARGS" and returns the exit status: 0 when nfgo
// agrees with the capture, 3 when there are disagreements, 1 on errors,
// 2 on usage errors.
func Main(args []string, env *Env) int {
	o, err := parseArgs(args)
	if err == errHelp {
		io.WriteString(env.Stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo replay: %v\nTry `nfgo replay --help' for more information.\n", err)
		return 2
	}
	rs, err := offline.LoadRules(o.rulesFile, o.ipsetsFile, env.StateDir, "nfgo replay")
	if err != nil {
		return fail(env, "%v", err)
	}
	h, err := offline.LoadHost(o.hostFile, o.routesFile, !o.noForward)
	if err != nil {
		return fail(env, "%v", err)
	}
	logs, err := openLogs(o, env)
	if err != nil {
		return fail(env, "%v", err)
	}
	if logs != nil {
		defer logs.Close()
	}
	var vw *bufio.Writer
	if o.verdictsFile != "" {
		f, err := os.OpenFile(o.verdictsFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fail(env, "%v", err)
		}
		defer f.Close()
		vw = bufio.NewWriter(f)
		defer vw.Flush()
	}
	var srcs []capture.Source
	for _, c := range o.captures {
		srcs = append(srcs, capture.ParseSource(c))
	}
	var cst capture.Stats
	pkts, err := capture.ReadAll(srcs, capture.HostInterfaces(h), &cst)
	if err != nil {
		return fail(env, "%v", err)
	}
	ev := &events{sink: logs}
	sum := &summary{kinds: map[string]int{}, verdicts: map[string]int{}}
	accepted, err := newPcapOut(o.acceptedFile)
	if err != nil {
		return fail(env, "%v", err)
	}
	dropped, err := newPcapOut(o.droppedFile)
	if err != nil {
		return fail(env, "%v", err)
	}
	r, err := rp.New(rp.Options{Rules: rs, Host: h, Events: ev, OnPacket: func(res *rp.Result) {
		sum.add(res)
		if vw != nil {
			writeVerdict(vw, res)
		}
		if res.Kind == "received" && res.Outcome != nil {
			if res.Outcome.Verdict == xt.VerdictAccept && !res.Outcome.Held && res.Outcome.Drop == "" {
				accepted.write(res.Pkt)
			} else if !res.Outcome.Held {
				dropped.write(res.Pkt)
			}
		}
	}})
	if err != nil {
		return fail(env, "%v", err)
	}
	var ctEvents []byte
	if o.ctEventsFile != "" {
		r.Stack.CT.Events = func(events uint32, c *conntrack.Conn, now int64) {
			ctEvents = c.AppendEvent(ctEvents, events, now)
		}
	}
	// A progress bar on a terminal for long captures; nothing otherwise.
	var bar *progressbar.ProgressBar
	if f, ok := env.Stderr.(*os.File); ok && len(pkts) >= 100000 {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			bar = progressbar.NewOptions(len(pkts), progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("replay"),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		}
	}
	for i := range pkts {
		r.Feed(&pkts[i])
		if bar != nil && i%1024 == 0 {
			bar.Set(i)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	r.Finish()
	if logs != nil {
		err := logs.Close()
		if ev.err != nil {
			err = ev.err
		}
		if err != nil {
			return fail(env, "log: %v", err)
		}
	}
	final := rs.Clone()
	r.Stack.Engine.Snapshot().Counters(final)
	if o.countersFile != "" {
		if err := writeFile(o.countersFile, func(w io.Writer) error { rules.WriteSave(w, final, "", true); return nil }); err != nil {
			return fail(env, "%v", err)
		}
	}
	end := int64(0)
	if len(pkts) > 0 {
		end = pkts[len(pkts)-1].Time
	}
	if o.ctFile != "" {
		if err := writeFile(o.ctFile, func(w io.Writer) error { _, err := r.Stack.CT.WriteList(w, end); return err }); err != nil {
			return fail(env, "%v", err)
		}
	}
	if o.ctEventsFile != "" {
		if err := writeFile(o.ctEventsFile, func(w io.Writer) error { _, err := w.Write(ctEvents); return err }); err != nil {
			return fail(env, "%v", err)
		}
	}
	if o.setsFile != "" && xt.Sets != nil {
		if err := writeFile(o.setsFile, func(w io.Writer) error {
			var b strings.Builder
			if _, err := xt.Sets.Exec(&ipset.Command{Name: "save"}, &b); err != nil {
				return err
			}
			_, err := io.WriteString(w, b.String())
			return err
		}); err != nil {
			return fail(env, "%v", err)
		}
	}
	if o.recentDir != "" {
		if err := os.MkdirAll(o.recentDir, 0o755); err != nil {
			return fail(env, "%v", err)
		}
		for _, name := range xt.RecentListNames() {
			text, _ := xt.RecentProcRead(name)
			if err := writeFile(filepath.Join(o.recentDir, name), func(w io.Writer) error { _, err := io.WriteString(w, text); return err }); err != nil {
				return fail(env, "%v", err)
			}
		}
	}
	for _, pc := range []*pcapOut{accepted, dropped} {
		if err := pc.close(); err != nil {
			return fail(env, "%v", err)
		}
	}
	if !o.quiet {
		sum.print(env.Stdout, r, final, &cst)
	}
	if len(r.Disagreements) > 0 {
		return 3
	}
	return 0
}

// writeFile writes through a temporary file renamed into place.
func writeFile(path string, f func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(tmp)
	if err := f(bw); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// openLogs opens where LOG and TRACE lines go: --log's file, or a router
// of the --log-route targets with --log's file as its default. Files get
// "[seconds.micros] " of capture time before each line, as dmesg shows a
// line's time, and are written anew (as --log always was). nil: no log.
func openLogs(o *options, env *Env) (logpipe.Sink, error) {
	if o.logFile == "" && len(o.logRoutes) == 0 {
		return nil, nil
	}
	fo := logpipe.FileOptions{Mode: 0o644, Truncate: true, Buffered: true, Stamp: logpipe.StampDmesg, Rotate: o.logRotate}
	opened := map[string]logpipe.Sink{}
	var all []logpipe.Sink
	open := func(target string) (logpipe.Sink, error) {
		key := target
		if _, ok := (logpipe.RouteSpec{Target: target}).SyslogPath(); !ok && target != logpipe.TargetStdout {
			key = filepath.Clean(target)
		}
		if s := opened[key]; s != nil {
			return s, nil
		}
		s, err := logpipe.OpenTarget(target, fo, env.Stdout)
		if err != nil {
			return nil, err
		}
		opened[key] = s
		all = append(all, s)
		return s, nil
	}
	router := &logpipe.Router{}
	var err error
	if o.logFile != "" {
		router.Default, err = open(o.logFile)
	}
	for _, rs := range o.logRoutes {
		if err != nil {
			break
		}
		var s logpipe.Sink
		if s, err = open(rs.Target); err == nil {
			router.Routes = append(router.Routes, logpipe.Route{Prefix: rs.Prefix, Sink: s, Continue: rs.Continue})
		}
	}
	if err != nil {
		for _, s := range all {
			s.Close()
		}
		return nil, err
	}
	if len(router.Routes) == 0 {
		return router.Default, nil
	}
	return router, nil
}

// events gives LOG and TRACE lines to the log sink with their packet's
// capture time; the first error is kept.
type events struct {
	sink logpipe.Sink
	buf  []byte
	err  error
}

// traceLevel is the level of TRACE lines (the kernel's trace_loginfo).
const traceLevel = 4

func (e *events) write(t int64, level uint8, line []byte) {
	if err := e.sink.WriteLine(time.Unix(0, t), level, line); err != nil && e.err == nil {
		e.err = err
	}
}

func (e *events) Log(p *xt.Pkt, level uint8, line []byte) {
	if e.sink == nil {
		return
	}
	e.write(p.Time, level, line)
}

func (e *events) Trace(p *xt.Pkt, table, chain, comment string, rulenum int) {
	if e.sink == nil {
		return
	}
	e.buf = xt.AppendTraceLine(e.buf[:0], p, table, chain, comment, rulenum)
	e.write(p.Time, traceLevel, e.buf)
}

var hookNames = [xt.NumHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

func verdictName(v xt.Verdict) string {
	switch v {
	case xt.VerdictAccept:
		return "ACCEPT"
	case xt.VerdictDrop:
		return "DROP"
	case xt.VerdictQueue:
		return "QUEUE"
	}
	return "CONTINUE"
}

type stepJSON struct {
	Hook    string `json:"hook"`
	Table   string `json:"table,omitempty"`
	Chain   string `json:"chain,omitempty"`
	Rule    int    `json:"rule,omitempty"`
	Verdict string `json:"verdict"`
}

type verdictJSON struct {
	Index   int        `json:"index"`
	Time    string     `json:"time"`
	Iface   string     `json:"iface"`
	Dir     string     `json:"dir"`
	Kind    string     `json:"kind"`
	Hooks   []stepJSON `json:"hooks,omitempty"`
	Verdict string     `json:"verdict,omitempty"`
	Outcome string     `json:"outcome,omitempty"`
	Packet  string     `json:"packet,omitempty"`
	NAT     string     `json:"nat,omitempty"`
	Why     string     `json:"why,omitempty"`
}

// outcomeText says what happened to a packet nfgo ran.
func outcomeText(o *netfilter.Outcome) (verdict, text string) {
	verdict = verdictName(o.Verdict)
	switch {
	case o.Held:
		return verdict, "held for reassembly"
	case o.Drop != "":
		return "DROP", o.Drop
	case o.Local:
		return verdict, "delivered locally"
	case o.Sent:
		return verdict, "sent out " + o.OutIface
	}
	if o.NSteps > 0 {
		last := o.Steps[o.NSteps-1]
		where := fmt.Sprintf("%s %s rule %d", last.Result.Table, last.Result.Chain, last.Result.Rule)
		if last.Result.Rule == 0 {
			where = fmt.Sprintf("%s %s policy", last.Result.Table, last.Result.Chain)
		}
		return verdict, fmt.Sprintf("%s at %s (%s)", verdict, hookNames[last.Hook], where)
	}
	return verdict, ""
}

func writeVerdict(w *bufio.Writer, res *rp.Result) {
	v := verdictJSON{Index: res.Index, Iface: res.Pkt.Iface, Dir: res.Pkt.Dir.String(), Kind: res.Kind,
		Time: fmt.Sprintf("%d.%09d", res.Pkt.Time/1e9, res.Pkt.Time%1e9), Packet: res.Before, Why: res.Why}
	if v.Dir == "unknown" {
		v.Dir = ""
	}
	if o := res.Outcome; o != nil {
		for i := 0; i < o.NSteps; i++ {
			s := o.Steps[i]
			v.Hooks = append(v.Hooks, stepJSON{Hook: hookNames[s.Hook], Table: s.Result.Table, Chain: s.Result.Chain, Rule: s.Result.Rule, Verdict: verdictName(s.Result.Verdict)})
		}
		v.Verdict, v.Outcome = outcomeText(o)
	}
	if res.After != "" && res.After != res.Before {
		v.NAT = res.Before + " => " + res.After
	}
	b, _ := json.Marshal(v)
	w.Write(b)
	w.WriteByte('\n')
}

type summary struct {
	kinds    map[string]int
	verdicts map[string]int
	drops    map[string]int
}

func (s *summary) add(res *rp.Result) {
	s.kinds[res.Kind]++
	if o := res.Outcome; o != nil {
		v, text := outcomeText(o)
		s.verdicts[v]++
		if v == "DROP" {
			if s.drops == nil {
				s.drops = map[string]int{}
			}
			s.drops[text]++
		}
	}
}

type countRow struct {
	name string
	n    uint64
}

func topN(m map[string]int, n int) []countRow {
	var rows []countRow
	for k, v := range m {
		rows = append(rows, countRow{k, uint64(v)})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].n != rows[j].n {
			return rows[i].n > rows[j].n
		}
		return rows[i].name < rows[j].name
	})
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

func (s *summary) print(w io.Writer, r *rp.Replayer, final *rules.Ruleset, cst *capture.Stats) {
	fmt.Fprintf(w, "packets: %d IPv4 (%d other frames skipped)\n", cst.Packets, cst.NotIPv4+cst.Malformed)
	fmt.Fprintf(w, "  received %d, forwarded %d (matched byte for byte), replies %d, host's own %d, unexplained %d, undecodable %d\n",
		r.Received, r.Forwarded, r.Replies, r.Local, r.Unexplained, r.Skipped)
	fmt.Fprintf(w, "verdicts:")
	for _, row := range topN(s.verdicts, 10) {
		fmt.Fprintf(w, " %s %d", row.name, row.n)
	}
	fmt.Fprintln(w)
	var hits []countRow
	for _, t := range final.Tables {
		for _, c := range t.Chains {
			for _, rl := range c.Rules {
				if rl.Counters.Packets > 0 {
					hits = append(hits, countRow{rules.RuleSpec(final.Family, t.Name, c.Name, rl), rl.Counters.Packets})
				}
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].n > hits[j].n })
	if len(hits) > 0 {
		fmt.Fprintln(w, "rules by hits:")
		for i, h := range hits {
			if i == 10 {
				break
			}
			fmt.Fprintf(w, "  %8d  %s\n", h.n, h.name)
		}
	}
	if len(s.drops) > 0 {
		fmt.Fprintln(w, "top drop reasons:")
		for _, row := range topN(s.drops, 10) {
			fmt.Fprintf(w, "  %8d  %s\n", row.n, row.name)
		}
	}
	fmt.Fprintf(w, "disagreements: %d\n", len(r.Disagreements))
	for i, d := range r.Disagreements {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more\n", len(r.Disagreements)-20)
			break
		}
		fmt.Fprintf(w, "  %s\n", d.What)
	}
}

// pcapOut writes packets as received to a pcap file (raw IPv4, the
// capture's times), through a temporary file renamed into place.
type pcapOut struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	w    *pcapgo.Writer
	err  error
}

func newPcapOut(path string) (*pcapOut, error) {
	if path == "" {
		return nil, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	pc := &pcapOut{path: path, tmp: tmp, bw: bufio.NewWriter(tmp)}
	pc.w = pcapgo.NewWriterNanos(pc.bw)
	if err := pc.w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return pc, nil
}

func (pc *pcapOut) write(p *capture.Packet) {
	if pc == nil || pc.err != nil {
		return
	}
	pc.err = pc.w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(p.IP), Length: len(p.IP)}, p.IP)
}

func (pc *pcapOut) close() error {
	if pc == nil {
		return nil
	}
	if pc.err == nil {
		pc.err = pc.bw.Flush()
	}
	if err := pc.tmp.Close(); pc.err == nil {
		pc.err = err
	}
	if pc.err != nil {
		os.Remove(pc.tmp.Name())
		return pc.err
	}
	return os.Rename(pc.tmp.Name(), pc.path)
}
