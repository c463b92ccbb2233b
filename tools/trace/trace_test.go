package trace

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ipsettool "github.com/nfgo/nfgo/tools/ipset"
)

const rulesText = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:ssh - [0:0]
-A INPUT -s 10.0.0.0/8 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ssh
-A ssh -i eth1 -j DROP
-A ssh -p tcp -m tcp --sport 1:1023 -j DROP
-A ssh -j ACCEPT
COMMIT
`

func runTrace(t *testing.T, args ...string) (string, string, int) {
	dir := t.TempDir()
	f := filepath.Join(dir, "r")
	os.WriteFile(f, []byte(rulesText), 0o644)
	var out, errb bytes.Buffer
	code := Main(append([]string{"--rules", f}, args...), &Env{Stdout: &out, Stderr: &errb, StateDir: dir})
	return out.String(), errb.String(), code
}

func TestTracePath(t *testing.T) {
	out, stderr, code := runTrace(t, "-i", "eth0", "-p", "tcp", "-s", "203.0.113.5", "--sport", "40000", "-d", "10.0.0.1", "--dport", "22", "--syn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"packet SRC=203.0.113.5 DST=10.0.0.1 LEN=40 ",
		"      1 did not match -A INPUT -s 10.0.0.0/8 -j DROP\n          (failed: -s 10.0.0.0/8)\n",
		"      2 matched       -A INPUT -p tcp -m tcp --dport 22 -j ssh\n",
		"      1 did not match -A ssh -i eth1 -j DROP\n          (failed: -i eth1)\n",
		"      3 matched       -A ssh -j ACCEPT\n",
		"verdict ACCEPT: delivered locally\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	out, _, _ = runTrace(t, "-i", "eth0", "-p", "tcp", "-s", "10.1.1.1", "-d", "10.0.0.1", "--dport", "22")
	if !strings.Contains(out, "verdict DROP at INPUT (filter INPUT rule 1)") {
		t.Errorf("10/8 not dropped by rule 1:\n%s", out)
	}
	out, _, _ = runTrace(t, "-i", "eth1", "-p", "udp", "-s", "192.168.1.7", "-d", "8.8.8.8", "--dport", "53")
	if !strings.Contains(out, "verdict ACCEPT: sent out eth0") || !strings.Contains(out, "FORWARD (in \"eth1\", out \"eth0\")") {
		t.Errorf("forwarded packet:\n%s", out)
	}
	_, stderr, code = runTrace(t, "--bogus")
	if code != 2 || !strings.Contains(stderr, "unknown option") {
		t.Errorf("bad option: %d %q", code, stderr)
	}
}

// --log appends the kernel-format LOG and TRACE lines to a file, in
// addition to the text report.
func TestTraceLogFile(t *testing.T) {
	dir := t.TempDir()
	rf := filepath.Join(dir, "r")
	os.WriteFile(rf, []byte("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -j TRACE\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j LOG --log-prefix \"in: \"\nCOMMIT\n"), 0o644)
	lf := filepath.Join(dir, "log")
	var out, errb bytes.Buffer
	if code := Main([]string{"--rules", rf, "--log", lf, "-i", "eth0", "-p", "tcp", "-s", "203.0.113.5", "-d", "10.0.0.1", "--dport", "22"}, &Env{Stdout: &out, Stderr: &errb}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, _ := os.ReadFile(lf)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	want := []string{"TRACE: raw:PREROUTING:policy:2 IN=eth0 ", "TRACE: filter:INPUT:rule:1 IN=eth0 ", "in: IN=eth0 ", "TRACE: filter:INPUT:policy:2 IN=eth0 "}
	if len(lines) != len(want) {
		t.Fatalf("log file:\n%s", b)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want prefix %q", i, lines[i], w)
		}
	}
}

// Sets come from the store: the SET target adds the packet's element and
// a later rule's set match sees it, within the trace only (the store's
// sets are left as they were).
func TestTraceSets(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"create seen hash:ip", "create svc hash:ip,port", "add svc 10.0.0.1,tcp:22"} {
		var eb bytes.Buffer
		if code := ipsettool.Main(strings.Fields(c), &ipsettool.Env{Stdout: io.Discard, Stderr: &eb, StateDir: dir}); code != 0 {
			t.Fatalf("ipset %s: %s", c, eb.String())
		}
	}
	f := filepath.Join(dir, "r")
	os.WriteFile(f, []byte(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m set --match-set seen src -j DROP
-A INPUT -p tcp -m set --match-set svc dst,dst -j SET --add-set seen src
-A INPUT -m set --match-set seen src -j LOG --log-prefix "seen: "
COMMIT
`), 0o644)
	trace := func(dport string) string {
		var out, errb bytes.Buffer
		if code := Main([]string{"--rules", f, "-i", "eth0", "-p", "tcp", "-s", "203.0.113.5", "-d", "10.0.0.1", "--dport", dport}, &Env{Stdout: &out, Stderr: &errb, StateDir: dir}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		return out.String()
	}
	out := trace("22")
	for _, want := range []string{
		"      1 did not match -A INPUT -m set --match-set seen src -j DROP\n",
		"      2 matched       -A INPUT -p tcp -m set --match-set svc dst,dst -j SET --add-set seen src\n",
		"      3 matched       -A INPUT -m set --match-set seen src -j LOG --log-prefix \"seen: \"\n",
		"verdict ACCEPT: delivered locally\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// Port 23 is not in svc: nothing added, and the first trace's add did
	// not reach the store.
	out = trace("23")
	if !strings.Contains(out, "      2 did not match -A INPUT -p tcp -m set --match-set svc dst,dst") ||
		!strings.Contains(out, "      3 did not match -A INPUT -m set --match-set seen src") {
		t.Errorf("port 23:\n%s", out)
	}
}

// TestTraceNAT: seed 004's port forwarding with MASQUERADE on the way
// out; the trace shows each rewrite where it happens and the connection's
// NATed tuples.
func TestTraceNAT(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "r")
	os.WriteFile(f, []byte(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.1.10:80
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m conntrack --ctstate DNAT -j ACCEPT
COMMIT
`), 0o644)
	var out, errb bytes.Buffer
	if code := Main([]string{"--rules", f, "-i", "eth0", "-p", "tcp", "-s", "10.0.0.5", "-d", "10.0.0.1", "--sport", "40000", "--dport", "8080", "--syn"},
		&Env{Stdout: &out, Stderr: &errb, StateDir: dir}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"  nat PREROUTING\n      1 matched       -A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.1.10:80\n  NAT rewrote the packet: 10.0.0.5:40000 -> 192.168.1.10:80\nFORWARD (in \"eth0\", out \"eth1\")\n",
		"      1 matched       -A POSTROUTING -o eth1 -j MASQUERADE\n  NAT rewrote the packet: 192.168.1.1:40000 -> 192.168.1.10:80\n",
		"connection: original 10.0.0.5:40000 -> 10.0.0.1:8080, reply 192.168.1.10:80 -> 192.168.1.1:40000\n",
		"verdict ACCEPT: sent out eth1\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
}
