package main

import (
	"context"
	"github.com/nfgo/nfgo/gateway"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The binary answers by the name it is called with and as "nfgo NAME".
func TestMultiCall(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "nfgo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, name := range []string{"iptables", "iptables-save", "iptables-restore"} {
		if err := os.Symlink(bin, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	state := t.TempDir()
	runIt := func(stdin string, argv ...string) (string, int) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "NFGO_STATE_DIR="+state)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := runIt("", filepath.Join(dir, "iptables"), "-N", "web"); code != 0 {
		t.Fatalf("iptables -N: %d %s", code, out)
	}
	if out, code := runIt("", bin, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "80", "-j", "web"); code != 0 {
		t.Fatalf("nfgo iptables -A: %d %s", code, out)
	}
	out, _ := runIt("", filepath.Join(dir, "iptables-save"))
	if !strings.Contains(out, "\n:web - [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j web\nCOMMIT\n") {
		t.Fatalf("iptables-save:\n%s", out)
	}
	if out, code := runIt("*filter\n-A INPUT -j DROP\nCOMMIT\n", bin, "iptables-restore", "--noflush"); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	out, _ = runIt("", bin, "iptables", "-S", "INPUT")
	if out != "-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 80 -j web\n-A INPUT -j DROP\n" {
		t.Fatalf("-S: %q", out)
	}
	if out, code := runIt("", bin, "version"); code != 0 || !strings.HasPrefix(out, "nfgo ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if out, code := runIt("", bin, "bogus"); code != 2 || !strings.Contains(out, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, out)
	}
	if out, code := runIt("", filepath.Join(dir, "iptables"), "-V"); code != 0 || out != "iptables v1.8.9 (legacy)\n" {
		t.Fatalf("-V: %d %q", code, out)
	}
}

// conntrack answers by name and as "nfgo conntrack"; the standalone
// binary has no table but parses and helps as conntrack 1.4.7 does.
func TestConntrackApplet(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "nfgo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if err := os.Symlink(bin, filepath.Join(dir, "conntrack")); err != nil {
		t.Fatal(err)
	}
	run := func(argv ...string) (string, string, int) {
		cmd := exec.Command(argv[0], argv[1:]...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return o.String(), e.String(), code
	}
	if o, _, code := run(bin, "conntrack", "-V"); code != 0 || o != "conntrack v1.4.7 (conntrack-tools)\n" {
		t.Errorf("nfgo conntrack -V: %d %q", code, o)
	}
	if _, e, code := run(filepath.Join(dir, "conntrack"), "-L"); code != 1 || !strings.Contains(e, "no connection tracking table here") {
		t.Errorf("conntrack -L: %d %q", code, e)
	}
	if _, e, code := run(filepath.Join(dir, "conntrack"), "-L", "--bogus"); code != 2 ||
		e != "conntrack v1.4.7 (conntrack-tools): unknown option `--bogus'\nTry `conntrack -h' or 'conntrack --help' for more information.\n" {
		t.Errorf("conntrack -L --bogus: %d %q", code, e)
	}
}

// With a gateway answering on the state directory's control socket, the
// tools run there: the answer's output and exit status are the tool's.
// Without one, or with NFGO_NO_GATEWAY set, they run here.
func TestViaGateway(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NFGO_STATE_DIR", dir)
	if _, ok := viaGateway("iptables", []string{"-L"}); ok {
		t.Fatal("a gateway answered where none runs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got *gateway.Request
	go (&gateway.Gateway{}).Serve(ctx, filepath.Join(dir, gateway.SocketName), func(r *gateway.Request) *gateway.Response {
		got = r
		return &gateway.Response{Code: 3}
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(filepath.Join(dir, gateway.SocketName)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, ok := viaGateway("conntrack", []string{"-L", "-p", "tcp"}); !ok || code != 3 {
		t.Fatalf("through the gateway: code %d, ok %v", code, ok)
	}
	if got == nil || got.Tool != "conntrack" || strings.Join(got.Args, " ") != "-L -p tcp" {
		t.Fatalf("the gateway got %+v", got)
	}
	t.Setenv("NFGO_NO_GATEWAY", "1")
	if _, ok := viaGateway("iptables", []string{"-L"}); ok {
		t.Fatal("NFGO_NO_GATEWAY did not keep the tool here")
	}
}
