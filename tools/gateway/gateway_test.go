package gateway

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gw "github.com/nfgo/nfgo/gateway"
	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/tools/iptables"
	rsttool "github.com/nfgo/nfgo/tools/rst"
)

// The daemon driven by the tools: rules put in the store with nfgo
// iptables, the daemon started on two TUN devices in namespaces, a rule
// change taking effect on SIGHUP, a clean stop on SIGTERM, the rules
// surviving a restart; then the tools through the control socket (live
// conntrack -L, a rule and an ipset whitelist change taking effect at
// once, errors as the tools give them).
func TestDaemon(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("the gateway test needs root and network namespaces: " + why)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun")
	}
	c, s := netns.New(t), netns.New(t)
	n := rand.Intn(9000) + 1000
	cdev, sdev := fmt.Sprintf("nfd%dc", n), fmt.Sprintf("nfd%ds", n)
	dir := t.TempDir()
	ipt := func(args ...string) {
		t.Helper()
		var eb bytes.Buffer
		// Another process writing the store: it does not run beside the
		// daemon's reload (the file lock orders them between processes;
		// in this one process, the daemon's tool lock).
		toolMu.Lock()
		code := iptables.Main(args, &iptables.Env{Stdout: &bytes.Buffer{}, Stderr: &eb, StateDir: dir})
		toolMu.Unlock()
		if code != 0 {
			t.Fatalf("nfgo iptables %v: %s", args, eb.String())
		}
	}
	ipt("-P", "FORWARD", "DROP")
	ipt("-A", "FORWARD", "-m", "state", "--state", "RELATED,ESTABLISHED", "-j", "ACCEPT")
	ipt("-A", "FORWARD", "-p", "icmp", "-j", "LOG", "--log-prefix", "[gw-icmp] ")
	ipt("-A", "FORWARD", "-p", "icmp", "-j", "ACCEPT")
	logFile := filepath.Join(dir, "packets.log")
	icmpLog := filepath.Join(dir, "icmp.log")
	conf := filepath.Join(dir, "gateway.conf")
	if err := os.WriteFile(conf, []byte("# the client side\ntun "+cdev+",10.78.1.1/24,netns="+c.Name+",peer=10.78.1.2/24,default\n"+
		"state "+dir+"\nqueues 3\nlog "+logFile+"\nlog-route [gw-icmp]="+icmpLog+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() (chan int, *bytes.Buffer) {
		var errb bytes.Buffer
		done := make(chan int, 1)
		go func() {
			// Started as the systemd unit starts it, from a configuration
			// file, the command line adding a device. Three queues per
			// device: a restart reopens every one.
			done <- Main([]string{"--config", conf, "--tun", sdev + ",10.78.2.1/24,netns=" + s.Name + ",peer=10.78.2.2/24,default"},
				&Env{Stdout: &bytes.Buffer{}, Stderr: &errb})
		}()
		// Up once the gateway answers its own ping.
		for i := 0; i < 50; i++ {
			if _, _, code := c.Run("ping", "-c", "1", "-W", "1", "10.78.1.1"); code == 0 {
				return done, &errb
			}
			select {
			case code := <-done:
				t.Fatalf("the daemon stopped at once (%d): %s", code, errb.String())
			default:
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the daemon did not come up: %s", errb.String())
		return nil, nil
	}
	ping := func() bool {
		_, _, code := c.Run("ping", "-c", "1", "-W", "1", "10.78.2.2")
		return code == 0
	}
	stop := func(done chan int, errb *bytes.Buffer) {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("the daemon exited %d: %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the daemon did not stop on SIGTERM")
		}
	}

	done, errb := start()
	if !ping() {
		t.Fatalf("ping does not cross the daemon: %s", errb.String())
	}
	ipt("-I", "FORWARD", "1", "-p", "icmp", "-j", "DROP")
	if !ping() {
		t.Fatal("a stored rule took effect before SIGHUP")
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if ping() {
		t.Fatal("the DROP rule did not take effect on SIGHUP")
	}
	stop(done, errb)
	if _, _, code := c.Run("ip", "link", "show", cdev); code == 0 {
		t.Error("the TUN device outlived the daemon")
	}

	// A restart restores the store: the DROP rule is still there.
	done, errb = start()
	if ping() {
		t.Fatal("the rules did not survive the restart")
	}
	ipt("-D", "FORWARD", "1")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if !ping() {
		t.Fatal("deleting the DROP rule did not take effect")
	}

	// The same tools through the control socket: the daemon runs them on
	// its store and live tables, and a change takes effect at once.
	call := func(tool string, args ...string) *gw.Response {
		t.Helper()
		resp, err := gw.Call(dir, &gw.Request{Tool: tool, Args: args})
		if err != nil {
			t.Fatalf("control %s %v: %v", tool, args, err)
		}
		return resp
	}
	if r := call("conntrack", "-L", "-p", "icmp"); r.Code != 0 || !strings.Contains(string(r.Stdout), "src=10.78.1.2 dst=10.78.2.2 type=8 code=0") {
		t.Errorf("conntrack -L through the daemon: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	if r := call("conntrack", "-S"); r.Code != 0 || strings.Count(string(r.Stdout), "\n") != runtime.NumCPU() || !strings.HasPrefix(string(r.Stdout), "cpu=0   \tfound=0 ") {
		t.Errorf("conntrack -S through the daemon, a line per CPU (%d): %d %q %s", runtime.NumCPU(), r.Code, r.Stdout, r.Stderr)
	}
	// seed 000's whitelist: an ipset change takes effect with no rule change.
	if r := call("ipset", "create", "wl", "hash:ip"); r.Code != 0 {
		t.Fatalf("ipset create: %s", r.Stderr)
	}
	if r := call("iptables", "-I", "FORWARD", "2", "-p", "icmp", "-m", "set", "!", "--match-set", "wl", "src", "-j", "DROP"); r.Code != 0 {
		t.Fatalf("iptables -I: %s", r.Stderr)
	}
	if ping() {
		t.Fatal("a rule added through the control socket did not take effect")
	}
	if r := call("ipset", "add", "wl", "10.78.1.2"); r.Code != 0 {
		t.Fatalf("ipset add: %s", r.Stderr)
	}
	if !ping() {
		t.Fatal("adding the client to the whitelist did not let it through")
	}
	if r := call("iptables", "-L", "FORWARD", "2"); r.Code != 0 || !strings.Contains(string(r.Stdout), "match-set wl src") {
		t.Errorf("iptables -L through the daemon: %s %s", r.Stdout, r.Stderr)
	}
	// The counters the tools show are the gateway's: the whitelist rule
	// dropped the ping before the client was added.
	if r := call("iptables-save", "-c", "-t", "filter"); r.Code != 0 || !strings.Contains(string(r.Stdout), "[1:84] -A FORWARD -p icmp -m set ! --match-set wl src -j DROP") {
		t.Errorf("iptables-save -c through the daemon:\n%s%s", r.Stdout, r.Stderr)
	}
	// iptables -Z through the daemon zeroes what the gateway counted, as
	// it does in the kernel; a ping after it counts from zero.
	if r := call("iptables", "-Z", "FORWARD"); r.Code != 0 {
		t.Fatalf("iptables -Z: %s", r.Stderr)
	}
	if r := call("iptables-save", "-c", "-t", "filter"); !strings.Contains(string(r.Stdout), "[0:0] -A FORWARD -p icmp -m set ! --match-set wl src -j DROP") ||
		!strings.Contains(string(r.Stdout), "[0:0] -A FORWARD -p icmp -j ACCEPT") {
		t.Errorf("iptables-save -c after iptables -Z FORWARD through the daemon:\n%s%s", r.Stdout, r.Stderr)
	}
	if !ping() {
		t.Fatal("the whitelisted client no longer crosses after iptables -Z")
	}
	if r := call("iptables-save", "-c", "-t", "filter"); !strings.Contains(string(r.Stdout), "[1:84] -A FORWARD -p icmp -j ACCEPT") {
		t.Errorf("iptables-save -c after a ping that followed iptables -Z:\n%s%s", r.Stdout, r.Stderr)
	}
	if r := call("iptables", "-A", "NOPE", "-j", "ACCEPT"); r.Code != 1 || !strings.Contains(string(r.Stderr), "iptables: No chain/target/match by that name.") {
		t.Errorf("an error through the daemon: %d %q", r.Code, r.Stderr)
	}
	// Clients at once, as scripts run iptables and ipset in parallel, and
	// SIGHUP reloads among them: each command sees the store whole and
	// its change swapped in (run with -race: the tools and the reloads
	// set the process's set lookups).
	// SIGHUP reloads land among them.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			syscall.Kill(os.Getpid(), syscall.SIGHUP)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprintf("10.78.9.%d", i+1)
			for _, req := range []*gw.Request{
				{Tool: "ipset", Args: []string{"add", "wl", addr}},
				{Tool: "iptables", Args: []string{"-A", "FORWARD", "-s", addr, "-m", "set", "--match-set", "wl", "src", "-j", "ACCEPT"}},
				{Tool: "iptables-save", Args: []string{"-t", "filter"}},
			} {
				if r, err := gw.Call(dir, req); err != nil || r.Code != 0 {
					t.Errorf("%s %v at once: %v %+v", req.Tool, req.Args, err, r)
				}
			}
		}()
	}
	wg.Wait()
	r := call("iptables-save", "-t", "filter")
	for i := 1; i <= 4; i++ {
		if rule := fmt.Sprintf("-A FORWARD -s 10.78.9.%d/32 -m set --match-set wl src -j ACCEPT", i); !strings.Contains(string(r.Stdout), rule) {
			t.Errorf("lost at once: %s\n%s", rule, r.Stdout)
		}
	}
	if r := call("ipset", "list", "wl"); !strings.Contains(string(r.Stdout), "Number of entries: 5") {
		t.Errorf("ipset adds at once:\n%s", r.Stdout)
	}
	for i := 1; i <= 4; i++ {
		call("iptables", "-D", "FORWARD", "-s", fmt.Sprintf("10.78.9.%d", i), "-m", "set", "--match-set", "wl", "src", "-j", "ACCEPT")
	}
	// conntrack -E through the daemon: the events stream while other
	// requests go on beside them, until the client hangs up.
	evCtx, hangUp := context.WithCancel(context.Background())
	var evMu sync.Mutex
	var evOut bytes.Buffer
	evDone := make(chan error, 1)
	go func() {
		_, err := gw.CallStream(evCtx, dir, &gw.Request{Tool: "conntrack", Args: []string{"-E", "-p", "icmp"}}, func(r *gw.Response) {
			evMu.Lock()
			evOut.Write(r.Stdout)
			evMu.Unlock()
		})
		evDone <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if r := call("conntrack", "-C"); r.Code != 0 {
		t.Errorf("conntrack -C beside a stream: %d %s", r.Code, r.Stderr)
	}
	if !ping() {
		t.Fatal("ping stopped crossing")
	}
	events := func() string {
		evMu.Lock()
		defer evMu.Unlock()
		return evOut.String()
	}
	for i := 0; i < 30 && !strings.Contains(events(), "[UPDATE]"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	hangUp()
	<-evDone
	evLines := strings.Split(strings.Trim(events(), "\n"), "\n")
	newRE := regexp.MustCompile(`^    \[NEW\] icmp     1 30 src=10\.78\.1\.2 dst=10\.78\.2\.2 type=8 code=0 id=(\d+) \[UNREPLIED\] src=10\.78\.2\.2 dst=10\.78\.1\.2 type=0 code=0 id=(\d+)$`)
	updRE := regexp.MustCompile(`^ \[UPDATE\] icmp     1 30 src=10\.78\.1\.2 dst=10\.78\.2\.2 type=8 code=0 id=(\d+) src=10\.78\.2\.2 dst=10\.78\.1\.2 type=0 code=0 id=(\d+)$`)
	if len(evLines) != 2 || !newRE.MatchString(evLines[0]) || !updRE.MatchString(evLines[1]) {
		t.Errorf("conntrack -E -p icmp through the daemon, for one ping:\n%s", events())
	}
	// Live RST attribution: a reset made by a REJECT rule, asked for
	// with nfgo rst --live.
	if r := call("iptables", "-A", "FORWARD", "-p", "tcp", "-m", "tcp", "--dport", "23", "-j", "REJECT", "--reject-with", "tcp-reset"); r.Code != 0 {
		t.Fatalf("iptables -A: %s", r.Stderr)
	}
	if o, _, _ := c.Run("python3", "-c", refusedScript); strings.TrimSpace(o) != "refused" {
		t.Errorf("REJECT through the daemon: %q", o)
	}
	var rout, rerr bytes.Buffer
	if code := rsttool.Main([]string{"--live", "--state", dir}, &rsttool.Env{Stdout: &rout, Stderr: &rerr}); code != 0 ||
		!strings.Contains(rout.String(), ":23 -> 10.78.1.2:") ||
		!strings.Contains(rout.String(), "sent by the server (this host), made by -A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset; connection SYN_SENT") {
		t.Errorf("nfgo rst --live: %d %s %s", code, rout.String(), rerr.String())
	}
	stop(done, errb)
	if _, err := os.Stat(filepath.Join(dir, gw.SocketName)); err == nil {
		t.Error("the control socket outlived the daemon")
	}
	lines, _ := os.ReadFile(icmpLog)
	other, _ := os.ReadFile(logFile)
	if strings.Count(string(lines), "[gw-icmp] IN="+cdev+" OUT="+sdev) < 2 || strings.Contains(string(other), "[gw-icmp]") {
		t.Errorf("the routed LOG lines:\nicmp.log:\n%s\npackets.log:\n%s", lines, other)
	}
	if !strings.Contains(errb.String(), "rules reloaded from the store") {
		t.Errorf("the daemon's own log lacks the reload:\n%s", errb.String())
	}
}

const refusedScript = `
import socket
try:
    socket.create_connection(("10.78.2.2", 23), timeout=3)
except ConnectionRefusedError:
    print("refused")
`
