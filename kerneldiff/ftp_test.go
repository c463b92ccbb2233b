package kerneldiff

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// Seed article 004: FTP through a router whose raw table attaches the ftp
// helper to the control connection and whose FORWARD chain (policy DROP)
// accepts only the control connection's NEW packets and RELATED and
// ESTABLISHED ones. A real client and server (tiny Python ones) run
// active (PORT, EPRT) and passive (PASV, EPSV) transfers; a PORT naming
// another host opens nothing (its connection attempt is dropped), and a
// lower-case "port" the server ignores leaves an expectation behind.
var ftpScenario = &Scenario{
	Name: "ftp-helper",
	Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
-A PREROUTING -p tcp -m tcp --tcp-flags SYN,ACK SYN -j TRACE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED -j LOG --log-prefix "ftp-related: "
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 21 -m state --state NEW -j ACCEPT
-A FORWARD -j LOG --log-prefix "ftp-drop: "
COMMIT
`,
}

const ftpServerPy = `
import socket, sys
me = sys.argv[1]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((me, 21)); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); f = c.makefile("rb")
c.sendall(b"220 nfgo test\r\n")
def active(ip, port):
    d = socket.socket(); d.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    d.bind((me, 20)); d.settimeout(0.5)
    try:
        d.connect((ip, port)); d.sendall(b"data\n"); d.close(); return True
    except OSError:
        d.close(); return False
def passive():
    l = socket.socket(); l.bind((me, 0)); l.listen(1)
    return l, l.getsockname()[1]
while True:
    line = f.readline()
    if not line:
        break
    cmd = line.strip().decode()
    if cmd.startswith("PORT "):
        n = [int(x) for x in cmd[5:].split(",")]
        ok = active(".".join(map(str, n[:4])), n[4] * 256 + n[5])
        c.sendall(b"200 ok\r\n" if ok else b"425 no\r\n")
    elif cmd.startswith("EPRT "):
        p = cmd[5:].split("|")
        ok = active(p[2], int(p[3]))
        c.sendall(b"200 ok\r\n" if ok else b"425 no\r\n")
    elif cmd in ("PASV", "EPSV"):
        l, port = passive()
        if cmd == "PASV":
            c.sendall(("227 Entering Passive Mode (%s,%d,%d).\r\n" % (me.replace(".", ","), port >> 8, port & 255)).encode())
        else:
            c.sendall(("229 Entering Extended Passive Mode (|||%d|)\r\n" % port).encode())
        d, _ = l.accept(); d.sendall(b"data\n"); d.close(); l.close()
    elif cmd == "QUIT":
        c.sendall(b"221 bye\r\n"); break
    else:
        c.sendall(b"200 ok\r\n")
c.close()
`

const ftpClientPy = `
import socket, sys, time
me, srv = sys.argv[1], sys.argv[2]
c = socket.create_connection((srv, 21)); f = c.makefile("rb")
def reply():
    l = f.readline(); print(l.strip().decode(), flush=True); return l.decode()
def cmd(s):
    c.sendall((s + "\r\n").encode()); return reply()
def drain(d):
    while d.recv(100):
        pass
    d.close()
reply()
cmd("USER nfgo")
# active: PORT and EPRT
for form in ("PORT", "EPRT"):
    l = socket.socket(); l.bind((me, 0)); l.listen(1); p = l.getsockname()[1]
    if form == "PORT":
        c.sendall(("PORT %s,%d,%d\r\n" % (me.replace(".", ","), p >> 8, p & 255)).encode())
    else:
        c.sendall(("EPRT |1|%s|%d|\r\n" % (me, p)).encode())
    d, _ = l.accept(); drain(d); l.close(); reply()
# passive: PASV and EPSV
r = cmd("PASV")
n = [int(x) for x in r.split("(")[1].split(")")[0].split(",")]
d = socket.create_connection((".".join(map(str, n[:4])), n[4] * 256 + n[5])); drain(d)
r = cmd("EPSV")
d = socket.create_connection((srv, int(r.split("|||")[1].split("|")[0]))); drain(d)
# another host's address: not expected, the server's attempt is dropped
parts = me.split(".")
cmd("PORT %s,%s,%s,99,19,137" % (parts[0], parts[1], parts[2]))
# lower case: the helper expects it, the server does not act on it
cmd("port %s,19,138" % me.replace(".", ","))
time.sleep(0.2)
cmd("QUIT")
c.close()
time.sleep(0.3)
`

// ftpExpectListing normalises conntrack -L expect lines (timeout first).
func ftpExpectListing(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" || strings.HasPrefix(l, "conntrack v") {
			continue
		}
		f := strings.Fields(l)
		f[0] = "_"
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}

func TestKernelFTPHelper(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	tp := NewTopo(t)
	var kList, kExp string
	sc := *ftpScenario
	sc.Traffic = func(t *testing.T, tp *Topo) {
		srv := exec.Command("ip", "netns", "exec", tp.S.Name, "python3", "-c", ftpServerPy, tp.ServerIP.String())
		var sout, serr bytes.Buffer
		srv.Stderr = &serr
		pr, err := srv.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := pr.Read(buf); err != nil {
			t.Fatalf("server: %v %s", err, serr.String())
		}
		cl := exec.Command("ip", "netns", "exec", tp.C.Name, "python3", "-c", ftpClientPy, tp.ClientIP.String(), tp.ServerIP.String())
		cl.Stdout = &sout
		cl.Stderr = &sout
		done := make(chan error, 1)
		go func() { done <- cl.Run() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("client: %v\n%s\nserver: %s", err, sout.String(), serr.String())
			}
		case <-time.After(20 * time.Second):
			cl.Process.Kill()
			t.Fatalf("client hung:\n%s", sout.String())
		}
		srv.Wait()
		t.Logf("client:\n%s", sout.String())
		if !strings.Contains(sout.String(), "425 no") || strings.Count(sout.String(), "200 ok") < 4 {
			t.Errorf("unexpected FTP session:\n%s", sout.String())
		}
		var e string
		var code int
		kList, e, code = tp.R.Run("conntrack", "-L")
		if code != 0 {
			t.Fatalf("conntrack -L: %s", e)
		}
		kExp, _, _ = tp.R.Run("conntrack", "-L", "expect")
	}
	k, frames := RunKernel(t, tp, &sc)
	n := RunNfgo(t, tp, &sc, frames)
	same := Compare(t, sc.Name, k, n)
	if n.Unforwarded != 0 || n.Unmatched != 0 {
		same = false
		t.Errorf("forwarding differs: nfgo forwarded %d packets the kernel did not, missed %d the kernel forwarded", n.Unforwarded, n.Unmatched)
	}
	var nb, eb bytes.Buffer
	n.CT.WriteList(&nb, n.End)
	n.CT.WriteExpectList(&eb, n.End)
	for _, c := range []struct {
		what string
		k, n []string
	}{
		{"conntrack -L", ctListing(kList), ctListing(nb.String())},
		{"conntrack -L expect", ftpExpectListing(kExp), ftpExpectListing(eb.String())},
	} {
		if strings.Join(c.k, "\n") != strings.Join(c.n, "\n") {
			same = false
			t.Errorf("%s differs (timeouts blanked)\nkernel:\n%s\nnfgo:\n%s", c.what, strings.Join(c.k, "\n"), strings.Join(c.n, "\n"))
		}
	}
	if len(k.Log) == 0 || !strings.Contains(strings.Join(k.Log, "\n"), "ftp-related: ") || !strings.Contains(strings.Join(k.Log, "\n"), "ftp-drop: ") {
		t.Errorf("the kernel logged no RELATED or dropped packet:\n%s", strings.Join(k.Log, "\n"))
	}
	if same {
		t.Logf("ftp: identical: %d TRACE lines, %d LOG lines, counters, %d conntrack entries, %d expectations",
			len(k.Trace), len(k.Log), len(ctListing(kList)), len(ftpExpectListing(kExp)))
		t.Logf("%s", fmt.Sprint(strings.Join(ctListing(kList), "\n")))
	}
}
