package kerneldiff

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/internal/setlink"
	"github.com/nfgo/nfgo/replay"
	"github.com/nfgo/nfgo/rules"
	ipsettool "github.com/nfgo/nfgo/tools/ipset"
	"github.com/nfgo/nfgo/xt"
)

// Scenario is one ruleset and the traffic to send through it.
type Scenario struct {
	Name string
	// Rules in iptables-save format for the router; "NET" is replaced by
	// the topology's second octet (10.NET.1.0/24 client side,
	// 10.NET.2.0/24 server side).
	Rules string
	// Traffic sends packets (crafted with Send, or real tools run in the
	// client and server namespaces).
	Traffic func(t *testing.T, tp *Topo)
	// Sets are ipset commands run before the rules are loaded ("NET"
	// replaced as in Rules): in the router's kernel with the real ipset,
	// and for nfgo with its own ipset.
	Sets []string
	// Replies: compare the packets the router generates in reaction to
	// the traffic (REJECT's ICMP errors and TCP resets) byte for byte. The
	// kernel's are the frames the router sends that are neither forwarded
	// nor anything but an ICMP destination unreachable or a TCP RST; the
	// scenario must make sure the router's own stack sends nothing else of
	// that kind.
	Replies bool
	// NAT: the router rewrites addresses, so every frame leaving it must
	// be explained: one nfgo forwarded (same bytes), a reply nfgo
	// generated, or a packet of the router's own stack, which nfgo sends
	// through OUTPUT and POSTROUTING as the stack sent it (its NAT undone
	// first) and which must come out as the very bytes captured. Anything
	// else is counted in Unmatched.
	NAT bool
	// Rand, if set, is the randomness nfgo's environment draws (the NAT
	// port search's starting offsets).
	Rand func() uint32
}

// Outcome is what one side produced.
type Outcome struct {
	All   []string // TRACE and LOG lines in the order they were printed
	Trace []string // TRACE lines
	Log   []string // LOG lines
	Save  string   // iptables-save -c, comment lines removed
	// Conntrack is the router's `conntrack -L` right after the traffic
	// (kernel side; "" when the conntrack tool is missing); nfgo's is
	// its table at the last packet (CT, End).
	Conntrack string
	// Events are the connection tracking events, as `conntrack -E`
	// prints them: on the kernel side from the router's conntrack -E
	// during the traffic (nil when the tool is missing), on nfgo's from
	// its table while replaying.
	Events []string
	// Replies are the IPv4 packets the router generated (Scenario.Replies;
	// nil otherwise), in order: captured from the kernel's router, the
	// Emitted packets nfgo sent out through OUTPUT and POSTROUTING.
	Replies [][]byte

	// nfgo only: its connection tracking table after the last frame (at
	// time End), and how many packets nfgo forwarded that the kernel did
	// not send on (Unforwarded) or that the kernel forwarded and nfgo did
	// not (Unmatched: a frame leaving the router, from neither of its
	// addresses, that nfgo never sent).
	CT                     *conntrack.Table
	End                    int64
	Unforwarded, Unmatched int
	// Forwarded counts frames leaving the router that nfgo forwarded
	// byte for byte; Local those of the router's own stack that nfgo,
	// sending them, produced byte for byte (NAT scenarios).
	Forwarded, Local int
}

// kmsgReader reads kernel log records written after it was opened. It
// uses the raw descriptor: /dev/kmsg signals "no more records" with
// EAGAIN, which os.File's poller would turn into a wait.
type kmsgReader struct{ fd int }

func openKmsg() (*kmsgReader, error) {
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if _, err := syscall.Seek(fd, 0, io.SeekEnd); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &kmsgReader{fd}, nil
}

// lines returns the messages logged since opening (one record a read).
func (k *kmsgReader) lines() []string {
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Read(k.fd, buf)
		if err == syscall.EPIPE {
			continue // records were overwritten before we read them
		}
		if err != nil || n <= 0 {
			break
		}
		rec := string(buf[:n])
		if i := strings.IndexByte(rec, ';'); i >= 0 {
			msg := rec[i+1:]
			if j := strings.IndexByte(msg, '\n'); j >= 0 {
				msg = msg[:j]
			}
			out = append(out, unescapeKmsg(msg))
		}
	}
	syscall.Close(k.fd)
	return out
}

// unescapeKmsg undoes /dev/kmsg's \xNN escaping of non-printable bytes.
func unescapeKmsg(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func stripComments(save string) string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}

type frame struct {
	ts    time.Time
	iface string
	data  []byte
}

func readPcap(t *testing.T, path, iface string) []frame {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []frame
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		out = append(out, frame{ci.Timestamp, iface, data})
	}
	return out
}

// RunKernel loads the scenario into the router's kernel, sends the
// traffic and returns what the kernel logged and counted, with the
// router's captures.
func RunKernel(t *testing.T, tp *Topo, sc *Scenario) (Outcome, []frame) {
	t.Helper()
	rulesText := tp.subst(sc.Rules)
	for _, c := range sc.Sets {
		tp.R.MustRun(t, strings.Fields("ipset "+tp.subst(c))...)
	}
	if _, e, code := tp.R.RunInput(strings.NewReader(rulesText), "iptables-legacy-restore"); code != 0 {
		t.Fatalf("kernel refused the ruleset: %s\n%s", e, rulesText)
	}
	dir := t.TempDir()
	var dumps []*exec.Cmd
	var dumpErrs []*bytes.Buffer
	// r0 and r1 separately (Ethernet frames, for the tests' own
	// inspection) and "any" (Linux cooked v2, as an admin would capture
	// on a host: what nfgo replays).
	for _, ifc := range []string{"r0", "r1", "any"} {
		// In immediate mode libpcap's ring has one frame per snapshot
		// length: with the default 256 KiB and 2 MiB buffer, a burst of
		// more than 8 packets overflows it whenever tcpdump is slow to be
		// scheduled. 9000 bytes (no test packet is larger) in 64 MiB
		// hold thousands.
		cmd := exec.Command("ip", "netns", "exec", tp.R.Name, "tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n",
			"-s", "9000", "-B", "65536", "-i", ifc, "-w", dir+"/"+ifc+".pcap", "ip")
		errb := &bytes.Buffer{}
		cmd.Stderr = errb
		defer func() {
			if t.Failed() {
				t.Logf("tcpdump %s: %s", ifc, errb.String())
			}
		}()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		dumps = append(dumps, cmd)
		dumpErrs = append(dumpErrs, errb)
	}
	// The router's connection tracking events during the traffic.
	var evCmd *exec.Cmd
	evOut := &bytes.Buffer{}
	if _, err := exec.LookPath("conntrack"); err == nil {
		evCmd = exec.Command("ip", "netns", "exec", tp.R.Name, "conntrack", "-E")
		evCmd.Stdout = evOut
		if err := evCmd.Start(); err != nil {
			evCmd = nil
		}
	}
	time.Sleep(1200 * time.Millisecond)
	km, err := openKmsg()
	if err != nil {
		t.Fatalf("/dev/kmsg: %v", err)
	}
	sc.Traffic(t, tp)
	var ctList string
	if _, err := exec.LookPath("conntrack"); err == nil {
		if out, _, code := tp.R.Run("conntrack", "-L"); code == 0 {
			ctList = out
		}
	}
	waitCaptures(dir+"/r0.pcap", dir+"/r1.pcap", dir+"/any.pcap")
	tp.AnyCapture = dir + "/any.pcap"
	var events []string
	if evCmd != nil {
		evCmd.Process.Signal(os.Interrupt)
		evCmd.Wait()
		events = []string{}
		for _, l := range strings.Split(evOut.String(), "\n") {
			// Changes the scenario made with the conntrack tool on the
			// router ([USERSPACE]: -U, -D) have no counterpart in the
			// replay; nfgo's tool is compared on its own.
			if strings.HasPrefix(strings.TrimLeft(l, " "), "[") && !strings.Contains(l, "[USERSPACE]") {
				events = append(events, l)
			}
		}
	}
	for i, d := range dumps {
		d.Process.Signal(os.Interrupt)
		d.Wait()
		// A packet missing from the capture makes nfgo's side differ for
		// no fault of its own: say so rather than leave a puzzling diff.
		for _, l := range strings.Split(dumpErrs[i].String(), "\n") {
			var n int
			if _, err := fmt.Sscanf(l, "%d packet", &n); err == nil && n > 0 && strings.Contains(l, "dropped by kernel") {
				t.Errorf("capture incomplete: %s", l)
			}
		}
	}
	var o Outcome
	o.Conntrack = ctList
	o.Events = events
	marker := fmt.Sprintf("10.%d.", tp.N)
	for _, l := range km.lines() {
		if !strings.Contains(l, marker) {
			continue
		}
		o.All = append(o.All, l)
		if strings.HasPrefix(l, "TRACE: ") {
			o.Trace = append(o.Trace, l)
		} else {
			o.Log = append(o.Log, l)
		}
	}
	save, e, code := tp.R.Run("iptables-legacy-save", "-c")
	if code != 0 {
		t.Fatalf("iptables-legacy-save: %s", e)
	}
	o.Save = stripComments(save)
	frames := append(readPcap(t, dir+"/r0.pcap", "r0"), readPcap(t, dir+"/r1.pcap", "r1")...)
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].ts.Before(frames[j].ts) })
	if fi, err := os.Stat(tp.AnyCapture); len(frames) == 0 && (err != nil || fi.Size() <= 24) {
		t.Fatalf("nothing captured on the router")
	}
	if sc.Replies {
		o.Replies = kernelReplies(tp, frames)
	}
	return o, frames
}

// waitCaptures waits until the capture files have stopped growing (no
// change for 300 ms, at most 5 s): under load tcpdump may still be
// writing the last packets, which a fixed delay sometimes cut off.
func waitCaptures(paths ...string) {
	size := func() int64 {
		var n int64
		for _, p := range paths {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	last, stable := size(), 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && stable < 3; {
		time.Sleep(100 * time.Millisecond)
		if n := size(); n != last {
			last, stable = n, 0
		} else {
			stable++
		}
	}
}

// ipOf returns a frame's IPv4 packet trimmed to its total length, or nil.
func ipOf(f frame) []byte {
	if len(f.data) < 34 || f.data[12] != 0x08 || f.data[13] != 0x00 {
		return nil
	}
	b := f.data[14:]
	if n := int(b[2])<<8 | int(b[3]); n >= 20 && n <= len(b) {
		b = b[:n]
	}
	return b
}

// forwardKey identifies a packet across forwarding: its bytes with the
// TTL and header checksum zeroed.
func forwardKey(b []byte) string {
	k := []byte(string(b))
	k[8], k[10], k[11] = 0, 0, 0
	return string(k)
}

// isReply says whether b is an ICMP destination unreachable or a TCP RST.
func isReply(b []byte) bool {
	ihl := int(b[0]&0x0F) * 4
	switch {
	case b[9] == 1 && len(b) > ihl:
		return b[ihl] == 3
	case b[9] == 6 && len(b) >= ihl+14:
		return b[ihl+13]&0x04 != 0
	}
	return false
}

// kernelReplies picks the packets the kernel's router generated from its
// captures: frames from the router's MACs that are not forwarded copies
// of frames it received, and are ICMP errors or TCP resets.
func kernelReplies(tp *Topo, frames []frame) [][]byte {
	out := [][]byte{}
	in := map[string]int{}
	for _, f := range frames {
		b := ipOf(f)
		if b == nil {
			continue
		}
		src := fmtMAC(f.data[6:12])
		if src != tp.MACr0 && src != tp.MACr1 {
			in[forwardKey(b)]++
			continue
		}
		if k := forwardKey(b); in[k] > 0 {
			in[k]--
			continue
		}
		if isReply(b) {
			out = append(out, append([]byte(nil), b...))
		}
	}
	return out
}

// MaskReply returns the bytes of a generated packet as compared: for an
// ICMP error (destination unreachable, time exceeded), the IP ID and, with it, the IP header checksum are zeroed.
// The kernel's ICMP socket sends without DF, so ip_select_ident gives the
// error a hashed per-destination ID (a boot-time secret key and random
// increments) that cannot be reproduced; TCP resets carry ID 0 with DF
// and are compared whole.
func MaskReply(b []byte) []byte {
	m := append([]byte(nil), b...)
	ihl := int(m[0]&0x0F) * 4
	if m[9] == 1 && len(m) > ihl && (m[ihl] == 3 || m[ihl] == 11) {
		m[4], m[5], m[10], m[11] = 0, 0, 0, 0
	}
	return m
}

// sink collects nfgo's LOG and TRACE lines.
// sink keeps the lines about this topology's addresses, as RunKernel
// keeps the kernel's (lines about 127.0.0.1 alone are dropped on both
// sides).
type sink struct {
	o      *Outcome
	buf    []byte
	marker string
}

func (s *sink) Log(p *xt.Pkt, level uint8, line []byte) {
	if strings.Contains(string(line), s.marker) {
		s.o.Log = append(s.o.Log, string(line))
	}
}

func (s *sink) Trace(p *xt.Pkt, table, chain, comment string, rulenum int) {
	s.buf = xt.AppendTraceLine(s.buf[:0], p, table, chain, comment, rulenum)
	if strings.Contains(string(s.buf), s.marker) {
		s.o.Trace = append(s.o.Trace, string(s.buf))
	}
}

// RunNfgo feeds the router's captured frames to nfgo with the same ruleset
// and the router's addresses and routes.
func RunNfgo(t *testing.T, tp *Topo, sc *Scenario, frames []frame) Outcome {
	t.Helper()
	setDir := t.TempDir()
	for _, c := range sc.Sets {
		var eb strings.Builder
		if code := ipsettool.Main(strings.Fields(tp.subst(c)), &ipsettool.Env{Stdout: io.Discard, Stderr: &eb, StateDir: setDir}); code != 0 {
			t.Fatalf("nfgo ipset %s: %s", c, eb.String())
		}
	}
	reg, err := setlink.Registry(setDir)
	if err != nil {
		t.Fatal(err)
	}
	xt.Sets, xt.LookupSet = reg, setlink.LookupFrom(setDir)
	rulesText := tp.subst(sc.Rules)
	rs := rules.NewRuleset(xt.FamilyIPv4)
	if _, err := rules.Restore(rs, strings.NewReader(rulesText), rules.RestoreOptions{Counters: true}, io.Discard); err != nil {
		t.Fatalf("nfgo refused the ruleset: %v", err)
	}
	addrJSON := tp.R.MustRun(t, "ip", "-j", "addr", "show")
	routeJSON := tp.R.MustRun(t, "ip", "-j", "route", "show")
	h, err := host.Load([]byte(addrJSON), []byte(routeJSON), true)
	if err != nil {
		t.Fatal(err)
	}
	var o Outcome
	sk := &sink{o: &o, marker: fmt.Sprintf("10.%d.", tp.N)}
	if sc.Replies {
		o.Replies = [][]byte{}
	}
	sent := append([][]byte(nil), tp.RouterSent...)
	ropts := replay.Options{Rules: rs, Host: h, Rand: sc.Rand, Events: sk,
		// The router's own packets the test crafted: their bytes before
		// NAT are known (matched by IP ID, protocol and source).
		Origin: func(wire []byte) []byte {
			for i, b := range sent {
				if len(wire) >= 20 && wire[4] == b[4] && wire[5] == b[5] && wire[9] == b[9] && bytes.Equal(wire[12:16], b[12:16]) {
					sent = append(sent[:i], sent[i+1:]...)
					return b
				}
			}
			return nil
		},
		OnPacket: func(res *replay.Result) {
			switch res.Kind {
			case "skipped":
				t.Logf("frame on %s not decoded: %s", res.Pkt.Iface, res.Why)
			case "unexplained":
				t.Logf("a frame leaving the router on %s that nfgo neither forwarded nor produced: %x (%s)", res.Pkt.Iface, res.Pkt.IP, res.Why)
			case "received":
				if sc.Replies {
					for _, e := range res.Outcome.Emitted {
						if e.Outcome.Sent {
							o.Replies = append(o.Replies, e.Packet)
						}
					}
				}
			}
		}}
	// Reassembly queues expire after the router's ipfrag_time.
	if out, _, code := tp.R.Run("sysctl", "-n", "net.ipv4.ipfrag_time"); code == 0 {
		if sec, err := strconv.Atoi(strings.TrimSpace(out)); err == nil && sec > 0 {
			ropts.FragTimeout = int64(sec) * 1e9
		}
	}
	// A freshly booted host: no recent or hashlimit tables, no
	// connections, before the rules create (and bind to) their tables.
	rp, err := replay.New(ropts)
	if err != nil {
		t.Fatalf("nfgo: %v", err)
	}
	o.Events = []string{}
	rp.Stack.CT.Events = func(events uint32, c *conntrack.Conn, now int64) {
		o.Events = append(o.Events, strings.TrimSuffix(string(c.AppendEvent(nil, events, now)), "\n"))
	}
	if tp.AnyCapture != "" {
		// The router's `tcpdump -i any` capture: interfaces from the
		// SLL2 indexes, directions from the packet types.
		pkts, err := capture.Read(capture.Source{Path: tp.AnyCapture}, capture.HostInterfaces(h), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pkts {
			rp.Feed(&pkts[i])
		}
	} else {
		for _, f := range frames {
			if len(f.data) < 14 || f.data[12] != 0x08 || f.data[13] != 0x00 {
				continue
			}
			// Direction from the Ethernet source: the router's MACs send.
			rp.Feed(&capture.Packet{Time: f.ts.UnixNano(), Iface: f.iface, MAC: f.data[:14], IP: f.data[14:]})
		}
	}
	o.Unforwarded = rp.Finish()
	o.Unmatched = rp.Unexplained
	o.Forwarded, o.Local = rp.Forwarded, rp.Local
	st := rp.Stack
	eng := st.Engine
	o.CT = st.CT
	if len(frames) > 0 {
		o.End = frames[len(frames)-1].ts.UnixNano()
	}
	c := rs.Clone()
	eng.Snapshot().Counters(c)
	var b bytes.Buffer
	rules.WriteSave(&b, c, "", true)
	o.Save = stripComments(b.String())
	return o
}

// eventsWithinAJiffy returns the kernel's events with each timeout one
// second short of nfgo's taken as nfgo's, the lines otherwise equal. An
// event shows the entry's remaining time in whole seconds at the moment
// it is written (ctnetlink_dump_timeout), and the kernel writes it after
// confirming the entry: when a jiffy tick falls between the two (rare,
// more likely on a loaded machine), 30 s shows as 29. nfgo writes it in
// the jiffy of the confirm.
func eventsWithinAJiffy(k, n []string) []string {
	out := append([]string(nil), k...)
	for i := range out {
		if i >= len(n) || out[i] == n[i] {
			continue
		}
		kf, nf := strings.Fields(out[i]), strings.Fields(n[i])
		// [TYPE] proto number timeout ...
		if len(kf) != len(nf) || len(kf) < 4 {
			continue
		}
		kt, err1 := strconv.Atoi(kf[3])
		nt, err2 := strconv.Atoi(nf[3])
		if err1 != nil || err2 != nil || kt != nt-1 {
			continue
		}
		kf[3] = nf[3]
		if strings.Join(kf, " ") == strings.Join(nf, " ") {
			out[i] = n[i]
		}
	}
	return out
}

func matchReply(pending [][]byte, b []byte) int {
	m := MaskReply(b)
	for i, q := range pending {
		if bytes.Equal(MaskReply(q), m) {
			return i
		}
	}
	return -1
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func fmtMAC(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// Compare reports every difference between the kernel's outcome and
// nfgo's, and returns whether they were identical.
func Compare(t *testing.T, name string, k, n Outcome) bool {
	t.Helper()
	Score(t, name)
	same := true
	diff := func(what string, a, b []string) {
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			same = false
			t.Errorf("%s: %s differ\nkernel:\n%s\nnfgo:\n%s", name, what, strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
	}
	diff("TRACE lines", k.Trace, n.Trace)
	diff("LOG lines", k.Log, n.Log)
	diff("iptables-save -c", strings.Split(k.Save, "\n"), strings.Split(n.Save, "\n"))
	if k.Conntrack != "" && n.CT != nil {
		// The connection table after the traffic, timeouts blanked and
		// lines sorted (the dump order is the kernel's hash order).
		var b bytes.Buffer
		n.CT.WriteList(&b, n.End)
		diff("conntrack -L (timeouts blanked)", ctListing(k.Conntrack), ctListing(b.String()))
	}
	if k.Events != nil {
		diff("conntrack -E events", eventsWithinAJiffy(k.Events, n.Events), n.Events)
	}
	if k.Replies != nil || n.Replies != nil {
		hexes := func(ps [][]byte) []string {
			var out []string
			for _, p := range ps {
				out = append(out, fmt.Sprintf("%x", MaskReply(p)))
			}
			return out
		}
		diff("generated packets (ICMP error IP ID and header checksum masked)", hexes(k.Replies), hexes(n.Replies))
	}
	return same
}

// scanLines is a small helper for tests reading tool output.
func scanLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// subst replaces the "NET" placeholder by the topology's octet (the
// target name NETMAP excepted).
func (tp *Topo) subst(s string) string {
	s = strings.ReplaceAll(s, "NETMAP", "\x00")
	s = strings.ReplaceAll(s, "NET", strconv.Itoa(tp.N))
	return strings.ReplaceAll(s, "\x00", "NETMAP")
}

// The scoreboard: every scenario compared, identical or differing (a
// scenario differs when its test fails, whatever check failed).
var scoreboard struct {
	mu   sync.Mutex
	rows []scoreRow
}

type scoreRow struct {
	name string
	ok   bool
}

// Score enters the scenario run by test t on the scoreboard; its result
// is the test's, known when the test ends.
func Score(t *testing.T, name string) {
	t.Cleanup(func() {
		scoreboard.mu.Lock()
		scoreboard.rows = append(scoreboard.rows, scoreRow{name, !t.Failed()})
		scoreboard.mu.Unlock()
	})
}

// PrintScoreboard writes the scoreboard (nothing when no scenario ran).
func PrintScoreboard(w io.Writer) {
	scoreboard.mu.Lock()
	defer scoreboard.mu.Unlock()
	if len(scoreboard.rows) == 0 {
		return
	}
	fmt.Fprintln(w, "kernel differential scoreboard (the kernel on a router in network namespaces against nfgo replaying its tcpdump -i any capture)")
	same := 0
	for _, r := range scoreboard.rows {
		v := "differing"
		if r.ok {
			v, same = "identical", same+1
		}
		fmt.Fprintf(w, "  %-40s %s\n", r.name, v)
	}
	fmt.Fprintf(w, "  TOTAL %d scenarios: identical %d, differing %d\n", len(scoreboard.rows), same, len(scoreboard.rows)-same)
}

// ctListing normalises conntrack -L lines for comparison: the timeout
// (third field) blanked, sorted.
func ctListing(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" || strings.HasPrefix(l, "conntrack v") {
			continue
		}
		f := strings.Fields(l)
		if len(f) > 2 {
			f[2] = "_"
		}
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}
