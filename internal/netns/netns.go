// Package netns gives tests throwaway Linux network namespaces to run real
// tools in (the kernel's iptables-legacy, ipset, ip), so that nfgo can be
// compared with them without touching the host's own network state.
//
// Everything here shells out to iproute2 ("ip netns add/exec/del"); it needs
// root. Later steps add veth pairs and packet injection to the same type.
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Tools the differential tests need inside a namespace.
var requiredTools = []string{"ip", "bash", "iptables-legacy", "iptables-legacy-save", "iptables-legacy-restore", "xtables-legacy-multi", "ipset"}

var (
	availOnce   sync.Once
	availOK     bool
	availReason string
	counter     atomic.Uint64
)

// Available reports whether namespaces can be used here: running as root,
// "ip netns" works, and iptables-legacy (with -save and -restore) is
// installed. When it is not, reason says why.
func Available() (ok bool, reason string) {
	availOnce.Do(func() { availOK, availReason = probe() })
	return availOK, availReason
}

func probe() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "not running as root"
	}
	for _, tool := range requiredTools {
		if _, err := exec.LookPath(tool); err != nil {
			return false, fmt.Sprintf("%s not found in PATH", tool)
		}
	}
	name := uniqueName("probe")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return false, fmt.Sprintf("ip netns add failed: %v: %s", err, strings.TrimSpace(string(out)))
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "exec", name, "iptables-legacy", "-w", "-S").CombinedOutput(); err != nil {
		return false, fmt.Sprintf("iptables-legacy does not work in a namespace: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return true, ""
}

func uniqueName(kind string) string {
	return fmt.Sprintf("nfgo-%s-%d-%d", kind, os.Getpid(), counter.Add(1))
}

// NS is one network namespace.
type NS struct {
	Name string
}

// New creates a fresh, uniquely named namespace, removed when the test (and
// its subtests) finish. The test fails at once if it cannot be created;
// callers check Available first.
func New(t testing.TB) *NS {
	t.Helper()
	ns, err := Create("t")
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		if err := ns.Delete(); err != nil {
			t.Logf("netns: %v", err)
		}
	})
	return ns
}

// Create makes a namespace outside of a test; the caller must Delete it.
func Create(kind string) (*NS, error) {
	name := uniqueName(kind)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return &NS{Name: name}, nil
}

// Delete removes the namespace.
func (ns *NS) Delete() error {
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Run runs a command inside the namespace and returns what it printed and
// its exit status. A command that cannot be started at all reports exit
// status -1 with the reason in stderr.
func (ns *NS) Run(args ...string) (stdout, stderr string, exitCode int) {
	return ns.RunInput(nil, args...)
}

// RunInput is Run with the given standard input (nil: none).
func (ns *NS) RunInput(stdin io.Reader, args ...string) (stdout, stderr string, exitCode int) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != nil {
		cmd.Stdin = stdin
	}
	// The tools inherit a predictable locale: messages and sort orders are
	// the C ones.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			return o.String(), e.String() + err.Error(), -1
		}
	}
	return o.String(), e.String(), code
}

// MustRun runs a command that is expected to succeed (test setup), failing
// the test otherwise.
func (ns *NS) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, code := ns.Run(args...)
	if code != 0 {
		t.Fatalf("netns %s: %s: exit %d: %s%s", ns.Name, strings.Join(args, " "), code, out, errOut)
	}
	return out
}
