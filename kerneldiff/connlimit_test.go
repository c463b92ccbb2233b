package kerneldiff

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Seed article 003's connlimit rule (-p tcp --dport 22 -m connlimit
// --connlimit-above 3, here with REJECT --reject-with tcp-reset so that
// the refusals show as replies), a LOG rule on the same condition with a
// /24 mask, and a counting rule per destination (--connlimit-upto 3
// --connlimit-daddr). Real TCP connections from the client to a listener
// on the router's port 22, opened one after another and kept open: the
// 4th and 5th are refused; then the 1st is closed (FIN both ways, the
// router's entry goes to TIME_WAIT and stops counting) and a 6th opens.
//
// Every count the rules compare is away from the thresholds where the
// kernel's once-a-jiffy garbage collection could make a difference (the
// closing ACK of the 1st counts 2 or 3 depending on where the tick falls).
var connlimitScenario = &Scenario{
	Name:    "connlimit",
	Replies: true,
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-upto 3 --connlimit-mask 32 --connlimit-daddr
-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 3 --connlimit-mask 24 --connlimit-saddr -j LOG --log-prefix "connlimit-ssh: "
-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 3 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset
COMMIT
`,
	Traffic: connlimitTraffic,
}

// The router's listener: accepts and keeps connections, closes one when
// its peer does.
const connlimitServer = `
import selectors, socket, sys
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 22))
ls.listen(16)
sel.register(ls, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is ls:
            c, _ = ls.accept()
            sel.register(c, selectors.EVENT_READ)
        else:
            if not s.recv(100):
                sel.unregister(s)
                s.close()
`

// The client: six connections in turn; prints what each gave, then keeps
// the open ones until its standard input closes.
const connlimitClient = `
import socket, sys, time
dst = sys.argv[1]
socks, res = [], []
def attempt():
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((dst, 22))
        socks.append(s)
        res.append("ok")
    except ConnectionRefusedError:
        s.close()
        res.append("refused")
    time.sleep(0.1)
for i in range(5):
    attempt()
socks[0].close()
time.sleep(0.5)
attempt()
print(" ".join(res), flush=True)
sys.stdin.read()
`

// Closing the last connection of a source: the client's RST (the
// router's entry goes to CLOSE) finds the connection assured, so nothing
// is added, and the list's garbage collection drops the connection
// itself: the count is 0, and the kernel hot-drops the RST (the
// router's socket stays established): neither rule counts it.
var connlimitCloseScenario = &Scenario{
	Name: "connlimit-close",
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-upto 5 --connlimit-mask 32 --connlimit-saddr -j LOG --log-prefix "connlimit-close: "
-A INPUT -p tcp -m tcp --dport 22
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		_, srv := startIn(t, tp.R.Name, "python3", "-c", connlimitServer)
		if l := readLineTimeout(t, srv, "listener"); l != "ready" {
			t.Fatalf("listener: %q", l)
		}
		_, cli := startIn(t, tp.C.Name, "python3", "-c", connlimitResetClient, tp.RouterIn.String())
		if got := readLineTimeout(t, cli, "client"); got != "done" {
			t.Errorf("client: %q", got)
		}
	},
}

// One connection, reset (SO_LINGER 0) 200 ms after it opened.
const connlimitResetClient = `
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], 22), timeout=3)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("done", flush=True)
sys.stdin.read()
`

func startIn(t *testing.T, ns string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil { // kept open until the process is killed
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out)
}

func readLineTimeout(t *testing.T, r *bufio.Reader, what string) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		ch <- strings.TrimSpace(l)
	}()
	select {
	case l := <-ch:
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer", what)
	}
	return ""
}

func connlimitTraffic(t *testing.T, tp *Topo) {
	_, srv := startIn(t, tp.R.Name, "python3", "-c", connlimitServer)
	if l := readLineTimeout(t, srv, "listener"); l != "ready" {
		t.Fatalf("listener: %q", l)
	}
	_, cli := startIn(t, tp.C.Name, "python3", "-c", connlimitClient, tp.RouterIn.String())
	got := readLineTimeout(t, cli, "client")
	if want := "ok ok ok refused refused ok"; got != want {
		t.Errorf("connections: %q, want %q", got, want)
	}
}

func TestKernelConnlimit(t *testing.T) {
	for _, sc := range []*Scenario{connlimitScenario, connlimitCloseScenario} {
		t.Run(sc.Name, func(t *testing.T) { kernelConnlimit(t, sc) })
	}
}

func kernelConnlimit(t *testing.T, sc *Scenario) {
	tp := NewTopo(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	// The client's segments leave a real socket with CHECKSUM_PARTIAL:
	// with offload on, the capture would hold the pseudo-header seed,
	// which the kernel trusts and nfgo's REJECT (verifying the sum, as
	// for a packet without checksum state) would not. Likewise the
	// router's resets (see setupReject).
	for _, x := range []struct {
		ns  string
		dev string
	}{{tp.C.Name, "c0"}, {tp.R.Name, "r0"}} {
		if err := txChecksumOff(x.ns, x.dev); err != nil {
			t.Skipf("cannot turn off tx checksum offload on %s: %v", x.dev, err)
		}
	}
	k, frames := RunKernel(t, tp, sc)
	if sc == connlimitCloseScenario && !clientReset(tp, frames) {
		t.Fatal("the client's RST is not in the capture")
	}
	n := RunNfgo(t, tp, sc, frames)
	if Compare(t, sc.Name, k, n) {
		t.Logf("%s: identical: %d LOG lines, %d resets, counters\n%s", sc.Name, len(k.Log), len(k.Replies), k.Save)
	}
}

// clientReset says whether the router received a TCP RST from the client.
func clientReset(tp *Topo, frames []frame) bool {
	for _, f := range frames {
		b := ipOf(f)
		if b == nil || fmtMAC(f.data[6:12]) != tp.MACc0 || b[9] != 6 {
			continue
		}
		ihl := int(b[0]&0x0F) * 4
		if len(b) >= ihl+14 && b[ihl+13]&0x04 != 0 {
			return true
		}
	}
	return false
}
