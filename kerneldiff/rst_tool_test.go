package kerneldiff

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
	rsttool "github.com/nfgo/nfgo/tools/rst"
)

// TestKernelRSTTool: seed 000's question on real resets crossing and made
// by the router, answered by `nfgo rst` from the router's tcpdump -i any
// capture: a reset made by a REJECT rule (this host, the rule named), one
// made by the router's stack for a closed port (this host, no rule), and
// on a forwarded connection the client's reset and the server's, each
// with the connection's state and traffic before it. The kernel's own
// LOG lines of the "[plantegg]" rule (seed 000's recipe) are compared as
// in every scenario.
func TestKernelRSTTool(t *testing.T) {
	dir := t.TempDir()
	anyPcap := filepath.Join(dir, "any.pcap")
	var kAddr, kRoute string
	sc := &Scenario{
		Name: "rst-attribution",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --tcp-flags RST RST -j LOG --log-prefix "[plantegg] "
-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A FORWARD -p tcp -m tcp --tcp-flags RST RST -j LOG --log-prefix "[plantegg] "
-A OUTPUT -p tcp -m tcp --tcp-flags RST RST -j LOG --log-prefix "[plantegg] "
COMMIT
`,
	}
	sc.Traffic = func(t *testing.T, tp *Topo) {
		cmd := exec.Command("ip", "netns", "exec", tp.R.Name, "tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n",
			"-s", "9000", "-B", "65536", "-i", "any", "-w", anyPcap)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1200 * time.Millisecond)
		c, r, s := tp.ClientIP, tp.RouterIn, tp.ServerIP
		Send(t, tp.C, tcpSeg(c, r, 41000, 23, fSYN, 1000, 0, 0)) // REJECT
		Send(t, tp.C, tcpSeg(c, r, 41001, 22, fSYN, 1000, 0, 0)) // closed port: the stack's reset
		Send(t, tp.C, tcpSeg(c, s, 41002, 80, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 80, 41002, fSYN|fACK, 5000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, s, 41002, 80, fACK, 1001, 5001, 0), tcpSeg(c, s, 41002, 80, fPSH, 1001, 5001, 100))
		Send(t, tp.C, tcpSeg(c, s, 41002, 80, packet.TCPRst, 1101, 0, 0)) // the client resets
		Send(t, tp.C, tcpSeg(c, s, 41003, 80, fSYN, 2000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 80, 41003, packet.TCPRst|fACK, 0, 2001, 0)) // the server refuses
		waitCaptures(anyPcap)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		kAddr = tp.R.MustRun(t, "ip", "-j", "addr", "show")
		kRoute = tp.R.MustRun(t, "ip", "-j", "route", "show")
	}
	tp := NewTopo(t)
	for _, x := range []struct{ ns, dev string }{{tp.C.Name, "c0"}, {tp.R.Name, "r0"}, {tp.R.Name, "r1"}, {tp.S.Name, "s0"}} {
		if err := txChecksumOff(x.ns, x.dev); err != nil {
			t.Skipf("cannot turn off tx checksum offload on %s: %v", x.dev, err)
		}
	}
	quietEnds(t, tp)
	k, frames := RunKernel(t, tp, sc)
	n := RunNfgo(t, tp, sc, frames)
	Compare(t, sc.Name, k, n)
	if len(k.Log) < 4 {
		t.Errorf("the kernel logged %d [plantegg] lines, expected one per reset:\n%s", len(k.Log), strings.Join(k.Log, "\n"))
	}

	w := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	var out, errb bytes.Buffer
	code := rsttool.Main([]string{"--rules", w("rules", tp.subst(sc.Rules)), "--host", w("addr", kAddr), "--routes", w("route", kRoute), anyPcap},
		&rsttool.Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()})
	if code != 0 {
		t.Fatalf("nfgo rst: exit %d: %s", code, errb.String())
	}
	got := out.String()
	net := func(s string) string { return tp.subst(s) }
	for _, want := range []string{
		net("r0 10.NET.1.1:23 -> 10.NET.1.2:41000: sent by the server (this host), made by -A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset; connection SYN_SENT"),
		net("r0 10.NET.1.1:22 -> 10.NET.1.2:41001: sent by the server (this host); connection SYN_SENT"),
		net("r0 10.NET.1.2:41002 -> 10.NET.2.2:80: sent by the client (a peer); connection ESTABLISHED"),
		", 3 packets/220 bytes from the client, 1/40 from the server\n",
		net("r1 10.NET.2.2:80 -> 10.NET.1.2:41003: sent by the server (a peer); connection SYN_SENT"),
		net("  10.NET.1.1      (this host) 2: 0 as client, 2 as server, 1 by REJECT rules\n"),
		"4 resets\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("nfgo rst output lacks %q:\n%s", want, got)
		}
	}
	if !t.Failed() {
		t.Logf("nfgo rst:\n%s", got)
	}
}
