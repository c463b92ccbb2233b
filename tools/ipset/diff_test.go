package ipset

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// A recipe is a sequence of ipset command lines run on a fresh state.
type recipe struct {
	name string
	cmds [][]string
}

func w(s string) []string { return strings.Fields(s) }

var diffRecipes = []recipe{
	{"seed_whitelist", [][]string{
		w("create drds_whitelist_ips hash:net"), w("add drds_whitelist_ips 100.1.2.0/24"), w("list"),
		w("add drds_whitelist_ips 100.1.2.0/24"), w("del drds_whitelist_ips 100.1.2.0/24"),
		w("del drds_whitelist_ips 100.1.2.0/24"), w("list"), w("save"), w("list drds_whitelist_ips"),
	}},
	{"seed_block", [][]string{
		w("create block_ips hash:net timeout 259200"), w("add block_ips 10.176.2.245"), w("list"), w("save"),
		w("list -t"), w("list -n"), w("test block_ips 10.176.2.245"), w("test block_ips 10.176.2.246"),
	}},
	{"errors", [][]string{
		w("create a hash:net"), w("create a hash:net"), w("create a hash:net -exist"), w("create a hash:ip -exist"),
		w("create c hash:foo"), w("create c"), w("create"), w("add a"), w("add a foo"), w("add a 1.2.3.4/33"),
		w("add a 1.2.3.0/0"), w("add a 1.2.3.4 timeout 5"), w("add a 1.2.3.4 comment x"), w("del nosuch 1.2.3.4"),
		w("destroy nosuch"), w("bogus"), w("list nosuch"), w("flush nosuch"), w("rename a a"), w("rename nosuch b"),
		w("swap a nosuch"), w("create b hash:ip"), w("swap a b"), w("create d hash:ip netmask 33"),
		w("create d hash:ip hashsize foo"), w("create d hash:ip family inet7"), w("create d hash:ip timeout 2147484"),
		w("create d hash:net netmask 24"), w("create aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa hash:ip"),
		w("add b 1.2.3.4 nomatch"), w("-q add a 1.2.3.0/24"), w("-q add a 1.2.3.0/24"), w("add a 1.2.3.0/24 -exist"),
		w("test a 1.2.3.9"), w("test a 9.9.9.9"), w("-q test a 9.9.9.9"), w("version"), w("help"),
	}},
	{"layout_hash_ip", [][]string{
		w("create e hash:ip initval 0x247c871e"), w("add e 1.1.1.1-1.1.1.3"), w("add e 1.1.2.0/30"), w("list e"),
		w("add e 1.1.1.2-1.1.1.5"), w("list e"), w("list -s e"), w("del e 1.1.2.2"), w("list"),
		w("create n hash:ip netmask 24 counters comment initval 0x1"), w("add n 10.1.2.3 packets 4 bytes 5"),
		w("add n 10.1.3.3 comment hello"), w("list n"), w("save n"),
	}},
	{"layout_hash_net", [][]string{
		w("create a hash:net initval 0xfff78afe"), w("add a 10.0.0.0/8"), w("add a 192.168.1.0/24"),
		w("add a 1.1.1.1"), w("add a 2.0.0.0-2.0.1.255"), w("add a 3.0.0.1-3.0.0.6"), w("add a 5.0.0.0/8 nomatch"),
		w("add a 10.1.0.0/16 nomatch"), w("list a"), w("test a 10.1.2.3"), w("test a 10.2.2.3"), w("test a 3.0.0.5"),
		w("del a 3.0.0.4/31"), w("del a 3.0.0.2/31"), w("list -o save"), w("flush a"), w("list a"),
	}},
	{"resize", func() [][]string {
		c := [][]string{w("create big hash:ip hashsize 64 initval 0x12345678")}
		for i := 0; i < 300; i++ {
			c = append(c, w(fmt.Sprintf("add big 10.%d.%d.1", i/250, i%250)))
		}
		for i := 0; i < 300; i += 3 {
			c = append(c, w(fmt.Sprintf("del big 10.%d.%d.1", i/250, i%250)))
		}
		return append(c, w("list -t big"), w("save big"))
	}()},
	{"timeouts", [][]string{
		w("create t hash:ip timeout 600 counters initval 0x5"), w("add t 1.1.1.1"), w("add t 1.1.1.2 timeout 0"),
		w("add t 1.1.1.3 timeout 100"), w("add t 1.1.1.3 timeout 200 -exist"), w("list t"), w("save"),
	}},
}

var timeoutRE = regexp.MustCompile(`^(add \S+ |)(\S+) timeout \d+`)

func normalize(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, "Header:") || strings.HasPrefix(l, "create ") {
			l = regexp.MustCompile(`initval 0x[0-9a-f]+`).ReplaceAllString(l, "initval X")
		} else {
			l = timeoutRE.ReplaceAllString(l, "${1}${2} timeout T")
		}
		b.WriteString(l)
	}
	return b.String()
}

type result struct {
	out, err string
	rc       int
}

func TestDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ipset"); err != nil {
		t.Skip("no ipset")
	}
	for _, rc := range diffRecipes {
		t.Run(rc.name, func(t *testing.T) {
			ns := fmt.Sprintf("nfgoips%d", os.Getpid())
			if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
				t.Skipf("netns: %v %s", err, out)
			}
			defer exec.Command("ip", "netns", "del", ns).Run()
			dir := t.TempDir()
			now := int64(1_800_000_000e9)
			for _, cmd := range rc.cmds {
				var want result
				c := exec.Command("ip", append([]string{"netns", "exec", ns, "ipset"}, cmd...)...)
				var so, se bytes.Buffer
				c.Stdout, c.Stderr = &so, &se
				if err := c.Run(); err != nil {
					if ee, ok := err.(*exec.ExitError); ok {
						want.rc = ee.ExitCode()
					}
				}
				want.out, want.err = so.String(), se.String()
				var go_, ge bytes.Buffer
				got := result{rc: Main(cmd, &Env{Stdout: &go_, Stderr: &ge, StateDir: dir, Clock: func() int64 { return now }})}
				got.out, got.err = go_.String(), ge.String()
				if normalize(got.out) != normalize(want.out) || got.err != want.err || got.rc != want.rc {
					t.Errorf("ipset %s:\n--- nfgo (rc %d)\n%s%s--- ipset (rc %d)\n%s%s", strings.Join(cmd, " "),
						got.rc, got.out, got.err, want.rc, want.out, want.err)
				}
			}
		})
	}
}
