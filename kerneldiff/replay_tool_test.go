package kerneldiff

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	replaytool "github.com/nfgo/nfgo/tools/replay"
)

// TestKernelReplayTool: `nfgo replay` given what an admin would collect
// on the router — a `tcpdump -i any` capture (Linux cooked v2: interface
// indexes, directions, no Ethernet header), `iptables-save`, `ip -j addr
// show`, `ip -j route show` — reproduces the router's TRACE and LOG
// lines (in order, after their capture-time stamps), its counters
// (iptables-save -c) and its connection table (conntrack -L), and
// reports no disagreement: every packet the router sent was forwarded,
// generated or NATed by nfgo byte for byte. The scenario is the
// port-forwarding one (DNAT, SNAT, ICMP errors, TRACE, LOG).
func TestKernelReplayTool(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	Score(t, "replay-tool-any-capture")
	dir := t.TempDir()
	anyPcap := filepath.Join(dir, "any.pcap")
	var kList, kAddr, kRoute string
	sc := *natDNAT
	sc.Traffic = func(t *testing.T, tp *Topo) {
		cmd := exec.Command("ip", "netns", "exec", tp.R.Name, "tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n",
			"-s", "9000", "-B", "65536", "-i", "any", "-w", anyPcap)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1200 * time.Millisecond)
		natDNAT.Traffic(t, tp)
		waitCaptures(anyPcap)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		kList = tp.R.MustRun(t, "conntrack", "-L")
		kAddr = tp.R.MustRun(t, "ip", "-j", "addr", "show")
		kRoute = tp.R.MustRun(t, "ip", "-j", "route", "show")
	}
	tp := NewTopo(t)
	for _, x := range []struct{ ns, dev string }{{tp.C.Name, "c0"}, {tp.R.Name, "r0"}, {tp.R.Name, "r1"}, {tp.S.Name, "s0"}} {
		if err := txChecksumOff(x.ns, x.dev); err != nil {
			t.Skipf("cannot turn off tx checksum offload on %s: %v", x.dev, err)
		}
	}
	dnatPrepare(t, tp)
	k, _ := RunKernel(t, tp, &sc)

	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	rulesFile := write("rules", tp.subst(sc.Rules))
	hostFile, routesFile := write("addr.json", kAddr), write("route.json", kRoute)
	logFile, ctrFile, ctFile := filepath.Join(dir, "log"), filepath.Join(dir, "counters"), filepath.Join(dir, "ct")
	var out, errb bytes.Buffer
	code := replaytool.Main([]string{"--rules", rulesFile, "--host", hostFile, "--routes", routesFile,
		"--log", logFile, "--save-counters", ctrFile, "--conntrack", ctFile, "--verdicts", filepath.Join(dir, "v"), anyPcap},
		&replaytool.Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()})
	if code != 0 {
		t.Fatalf("nfgo replay: exit %d\n%s%s", code, out.String(), errb.String())
	}
	logText, _ := os.ReadFile(logFile)
	stamp := regexp.MustCompile(`^\[ *\d+\.\d{6}\] `)
	var nLines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(logText), "\n"), "\n") {
		if !stamp.MatchString(l) {
			t.Fatalf("log line without its capture-time stamp: %q", l)
		}
		nLines = append(nLines, stamp.ReplaceAllString(l, ""))
	}
	same := true
	if strings.Join(nLines, "\n") != strings.Join(k.All, "\n") {
		same = false
		t.Errorf("TRACE and LOG lines differ\nkernel:\n%s\nnfgo replay:\n%s", strings.Join(k.All, "\n"), strings.Join(nLines, "\n"))
	}
	ctr, _ := os.ReadFile(ctrFile)
	if got := stripComments(string(ctr)); got != k.Save {
		same = false
		t.Errorf("counters differ\nkernel:\n%s\nnfgo replay:\n%s", k.Save, got)
	}
	ct, _ := os.ReadFile(ctFile)
	if kl, nl := ctListing(kList), ctListing(string(ct)); strings.Join(kl, "\n") != strings.Join(nl, "\n") {
		same = false
		t.Errorf("conntrack -L differs (timeouts blanked)\nkernel:\n%s\nnfgo replay:\n%s", strings.Join(kl, "\n"), strings.Join(nl, "\n"))
	}
	if !strings.Contains(out.String(), "disagreements: 0\n") || !strings.Contains(out.String(), "unexplained 0") {
		same = false
		t.Errorf("replay summary:\n%s", out.String())
	}
	if same {
		t.Logf("nfgo replay of tcpdump -i any: identical (%d TRACE and LOG lines, counters, conntrack); summary:\n%s", len(k.All), out.String())
	}
}
