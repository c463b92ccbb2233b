package kerneldiff

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/logline"
	"github.com/nfgo/nfgo/netfilter"
	"github.com/nfgo/nfgo/rules"
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
}

// Outcome is what one side produced.
type Outcome struct {
	Trace []string // TRACE lines
	Log   []string // LOG lines
	Save  string   // iptables-save -c, comment lines removed
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
	rulesText := strings.ReplaceAll(sc.Rules, "NET", strconv.Itoa(tp.N))
	if _, e, code := tp.R.RunInput(strings.NewReader(rulesText), "iptables-legacy-restore"); code != 0 {
		t.Fatalf("kernel refused the ruleset: %s", e)
	}
	dir := t.TempDir()
	var dumps []*exec.Cmd
	for _, ifc := range []string{"r0", "r1"} {
		cmd := exec.Command("ip", "netns", "exec", tp.R.Name, "tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n", "-i", ifc, "-w", dir+"/"+ifc+".pcap", "ip")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		defer func() {
			if t.Failed() {
				t.Logf("tcpdump %s: %s", ifc, errb.String())
			}
		}()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		dumps = append(dumps, cmd)
	}
	time.Sleep(1200 * time.Millisecond)
	km, err := openKmsg()
	if err != nil {
		t.Fatalf("/dev/kmsg: %v", err)
	}
	sc.Traffic(t, tp)
	time.Sleep(300 * time.Millisecond)
	for _, d := range dumps {
		d.Process.Signal(os.Interrupt)
		d.Wait()
	}
	var o Outcome
	marker := fmt.Sprintf("10.%d.", tp.N)
	for _, l := range km.lines() {
		if !strings.Contains(l, marker) {
			continue
		}
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
	if len(frames) == 0 {
		t.Fatalf("nothing captured on the router")
	}
	return o, frames
}

// sink collects nfgo's LOG and TRACE lines.
type sink struct {
	o   *Outcome
	buf []byte
}

func (s *sink) Log(p *xt.Pkt, level uint8, line []byte) { s.o.Log = append(s.o.Log, string(line)) }

func (s *sink) Trace(p *xt.Pkt, table, chain, comment string, rulenum int) {
	s.buf = logline.Append(s.buf[:0], &logline.Packet{
		Prefix: fmt.Sprintf("TRACE: %s:%s:%s:%d ", table, chain, comment, rulenum),
		In:     p.InIface, Out: p.OutIface, MAC: p.MAC, HardHeaderLen: p.InHardHeaderLen, MACEther: p.InEther,
		IP: p.B, Mark: p.Mark, Flags: logline.TCPSeq | logline.TCPOpt | logline.IPOpt | logline.UID,
	})
	s.o.Trace = append(s.o.Trace, string(s.buf))
}

// RunNfgo feeds the router's captured frames to nfgo with the same ruleset
// and the router's addresses and routes.
func RunNfgo(t *testing.T, tp *Topo, sc *Scenario, frames []frame) Outcome {
	t.Helper()
	rulesText := strings.ReplaceAll(sc.Rules, "NET", strconv.Itoa(tp.N))
	rs := rules.NewRuleset(xt.FamilyIPv4)
	if _, err := rules.Restore(rs, strings.NewReader(rulesText), rules.RestoreOptions{Counters: true}, io.Discard); err != nil {
		t.Fatalf("nfgo refused the ruleset: %v", err)
	}
	eng, err := netfilter.New(rs)
	if err != nil {
		t.Fatalf("nfgo: %v", err)
	}
	addrJSON := tp.R.MustRun(t, "ip", "-j", "addr", "show")
	routeJSON := tp.R.MustRun(t, "ip", "-j", "route", "show")
	h, err := host.Load([]byte(addrJSON), []byte(routeJSON), true)
	if err != nil {
		t.Fatal(err)
	}
	st := &netfilter.Stack{Engine: eng, Host: h, Env: netfilter.NewEnv(h, nil)}
	var o Outcome
	sk := &sink{o: &o}
	routerMAC := map[string]bool{tp.MACr0: true, tp.MACr1: true}
	forwarded := map[string]int{} // IP bytes nfgo forwarded, not yet seen leaving
	for _, f := range frames {
		if len(f.data) < 14 || f.data[12] != 0x08 || f.data[13] != 0x00 {
			continue
		}
		src := fmtMAC(f.data[6:12])
		ipb := append([]byte(nil), f.data[14:]...)
		p := &xt.Pkt{Events: sk}
		if err := p.Decode(ipb); err != nil {
			t.Logf("frame on %s not decoded: %v", f.iface, err)
			continue
		}
		if !routerMAC[src] {
			out := st.Receive(p, f.iface, f.data[:14])
			if out.Sent {
				forwarded[string(p.B)]++
			}
			continue
		}
		if forwarded[string(p.B)] > 0 {
			forwarded[string(p.B)]--
			continue
		}
		st.Send(p)
	}
	c := rs.Clone()
	eng.Snapshot().Counters(c)
	var b bytes.Buffer
	rules.WriteSave(&b, c, "", true)
	o.Save = stripComments(b.String())
	return o
}

func fmtMAC(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// Compare reports every difference between the kernel's outcome and
// nfgo's, and returns whether they were identical.
func Compare(t *testing.T, name string, k, n Outcome) bool {
	t.Helper()
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
