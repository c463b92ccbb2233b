package iptables

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/store"
)

func run(t *testing.T, dir string, main func([]string, *Env) int, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := main(args, &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, StateDir: dir})
	return code, out.String(), errb.String()
}

func TestLockBusy(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.Lock(0)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, dir, Main, "", "-A", "INPUT", "-j", "ACCEPT")
	if code != 4 || stderr != "Another app is currently holding the xtables lock. Perhaps you want to use the -w option?\n" {
		t.Fatalf("busy lock: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, dir, Main, "", "-w", "1", "-A", "INPUT", "-j", "ACCEPT")
	if code != 4 || stderr != "Another app is currently holding the xtables lock. Stopped waiting after 1s.\n" {
		t.Fatalf("busy lock with -w 1: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, dir, RestoreMain, "*filter\nCOMMIT\n")
	if code != 4 {
		t.Fatalf("restore under a busy lock: exit %d, %q", code, stderr)
	}
	l.Unlock()
	if code, _, stderr := run(t, dir, Main, "", "-w", "-A", "INPUT", "-j", "ACCEPT"); code != 0 {
		t.Fatalf("after unlock: exit %d, %q", code, stderr)
	}
	_, out, _ := run(t, dir, Main, "", "-S", "INPUT")
	if out != "-P INPUT ACCEPT\n-A INPUT -j ACCEPT\n" {
		t.Fatalf("-S after the lock was released: %q", out)
	}
}

// A refused command leaves the store byte for byte as it was, and leaves
// no temporary file behind.
func TestRefusedCommandChangesNothing(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := run(t, dir, Main, "", "-N", "a"); code != 0 {
		t.Fatal(e)
	}
	if code, _, e := run(t, dir, Main, "", "-A", "INPUT", "-j", "a"); code != 0 {
		t.Fatal(e)
	}
	before, err := os.ReadFile(filepath.Join(dir, "rules.v4"))
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]string{
		{"-A", "a", "-j", "a"},                    // loop: kernel ELOOP
		{"-A", "INPUT", "-p", "udp", "-m", "tcp"}, // tcp without -p tcp: kernel EINVAL
		{"-X", "a"}, // referenced
		{"-D", "INPUT", "5"},
		{"-A", "INPUT", "--bogus"},
		{"-P", "a", "DROP"},
	}
	for _, args := range bad {
		if code, _, _ := run(t, dir, Main, "", args...); code == 0 {
			t.Errorf("%v: accepted", args)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, "rules.v4"))
	if !bytes.Equal(before, after) {
		t.Errorf("store changed:\n%s\n---\n%s", before, after)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	code, _, stderr := run(t, dir, Main, "", "-A", "a", "-j", "a")
	if code != 1 || stderr != "iptables: Too many levels of symbolic links.\n" {
		t.Errorf("loop: exit %d %q", code, stderr)
	}
}

// A failing restore commits the tables before the failing one, and none
// after it, as iptables-legacy-restore does.
func TestRestorePartialCommit(t *testing.T) {
	dir := t.TempDir()
	in := "*nat\n-A PREROUTING -p tcp -m tcp --dport 8022 -j ACCEPT\nCOMMIT\n*filter\n-A NOPE -j ACCEPT\nCOMMIT\n"
	code, _, stderr := run(t, dir, RestoreMain, in)
	if code != 1 || stderr != "iptables-restore: line 5 failed\n" {
		t.Fatalf("exit %d %q", code, stderr)
	}
	_, out, _ := run(t, dir, Main, "", "-t", "nat", "-S", "PREROUTING")
	if out != "-P PREROUTING ACCEPT\n-A PREROUTING -p tcp -m tcp --dport 8022 -j ACCEPT\n" {
		t.Fatalf("nat after partial restore: %q", out)
	}
	if _, out, _ := run(t, dir, SaveMain, "", "-t", "filter"); strings.Contains(out, "NOPE") {
		t.Fatalf("filter committed: %s", out)
	}
}

// -E to a name iptables-save cannot print restorably (iptables 1.8.9 and
// the kernel accept "" and "a b" there, unlike with -N) is refused, and
// the store stays readable and unchanged.
func TestRenameToUnstorableName(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := run(t, dir, Main, "", "-N", "foo"); code != 0 {
		t.Fatal(e)
	}
	// The dated comment lines aside.
	save := func() string {
		var b strings.Builder
		for _, l := range strings.SplitAfter(saveText(t, dir), "\n") {
			if !strings.HasPrefix(l, "#") {
				b.WriteString(l)
			}
		}
		return b.String()
	}
	before := save()
	for _, name := range []string{"", "a b", "a\tb"} {
		code, _, stderr := run(t, dir, Main, "", "-E", "foo", name)
		if want := "iptables v1.8.9 (legacy): nfgo: a chain named `" + name + "' cannot be kept in the rule store: iptables-save would print a line that iptables-restore refuses\n"; code != 1 || stderr != want {
			t.Errorf("-E foo %q: exit %d, %q", name, code, stderr)
		}
		if after := save(); after != before {
			t.Errorf("-E foo %q changed the store:\n%s", name, after)
		}
	}
	// The same rename inside iptables-restore input.
	code, _, stderr := run(t, dir, RestoreMain, "*filter\n:foo - [0:0]\n-E foo \"a b\"\nCOMMIT\n", "-n")
	if code != 1 || !strings.Contains(stderr, "nfgo: a chain named `a b' cannot be kept in the rule store") {
		t.Errorf("restore -E foo \"a b\": exit %d, %q", code, stderr)
	}
	if after := save(); after != before {
		t.Errorf("restore -E changed the store:\n%s", after)
	}
	if code, _, e := run(t, dir, Main, "", "-E", "foo", "bar"); code != 0 || !strings.Contains(saveText(t, dir), ":bar - [0:0]") {
		t.Errorf("-E foo bar: %d %s", code, e)
	}
}
