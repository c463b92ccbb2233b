// Command nfgo is the multi-call binary: it answers as iptables,
// iptables-save and iptables-restore when called by those names (argv[0])
// or as "nfgo iptables ...", "nfgo iptables-save ...".
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"

	ctool "github.com/nfgo/nfgo/tools/conntrack"
	gwtool "github.com/nfgo/nfgo/tools/gateway"
	"github.com/nfgo/nfgo/tools/ipset"
	"github.com/nfgo/nfgo/tools/iptables"
	"github.com/nfgo/nfgo/tools/recent"
	"github.com/nfgo/nfgo/tools/replay"
	"github.com/nfgo/nfgo/tools/rst"
	"github.com/nfgo/nfgo/tools/trace"
)

// version is nfgo's own version (the tools report the iptables version
// they are compatible with).
const version = "0.1.0"

type applet func(args []string, env *iptables.Env) int

var applets = map[string]applet{
	"iptables":                iptables.Main,
	"iptables-legacy":         iptables.Main,
	"iptables-save":           iptables.SaveMain,
	"iptables-legacy-save":    iptables.SaveMain,
	"iptables-restore":        iptables.RestoreMain,
	"iptables-legacy-restore": iptables.RestoreMain,
}

const usage = `nfgo: netfilter in userspace.

Usage: nfgo COMMAND [ARGS...]
       iptables|iptables-save|iptables-restore ARGS...  (called by those names)

Commands:
  iptables          add, delete, list rules (iptables 1.8.9 syntax)
  iptables-save     print the ruleset in iptables-save format
  iptables-restore  load a ruleset in iptables-save format
  ipset             create and change IP sets (ipset 7.17 syntax; hash:ip, hash:net,
                    hash:ip,port, hash:net,port, bitmap:ip, bitmap:port)
  trace             a packet's path through every table, chain and rule
  conntrack         list, get, delete, flush connection tracking entries (conntrack-tools 1.4.7 syntax)
  replay            a capture through a host's ruleset: verdicts, LOG and
                    TRACE lines, counters, connections, disagreements
  recent            the recent match's lists (/proc/net/xt_recent)
  gateway           the live data plane: route packets between TUN devices
                    through the ruleset (SIGHUP reloads the rule store)
  rst               the TCP resets of a capture: who sent each, on which
                    connection, which REJECT rule made it
  version           print nfgo's version
  help              this text

Rules live in the state directory: $NFGO_STATE_DIR, else /var/lib/nfgo as
root, else $XDG_STATE_HOME/nfgo.
`

func main() {
	// The tools are short-lived and allocate a ruleset's worth of small
	// objects: collect less often (measured: restore of 100k rules).
	debug.SetGCPercent(400)
	if path := os.Getenv("NFGO_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	env := &iptables.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	name := filepath.Base(argv[0])
	if a, ok := applets[name]; ok {
		return a(argv[1:], env)
	}
	if name == "ipset" {
		return ipset.Main(argv[1:], &ipset.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	}
	if name == "conntrack" {
		return conntrackMain(argv[1:])
	}
	if len(argv) < 2 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch argv[1] {
	case "--help", "-h", "help":
		fmt.Print(usage)
		return 0
	case "version", "--version", "-V":
		fmt.Printf("nfgo %s (iptables v1.8.9 compatible)\n", version)
		return 0
	}
	if a, ok := applets[argv[1]]; ok {
		return a(argv[2:], env)
	}
	if argv[1] == "ipset" {
		return ipset.Main(argv[2:], &ipset.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	}
	if argv[1] == "conntrack" {
		return conntrackMain(argv[2:])
	}
	if argv[1] == "trace" {
		return trace.Main(argv[2:], &trace.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	}
	if argv[1] == "replay" {
		return replay.Main(argv[2:], &replay.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	}
	if argv[1] == "gateway" {
		return gwtool.Main(argv[2:], &gwtool.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	}
	if argv[1] == "rst" {
		return rst.Main(argv[2:], &rst.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	}
	if argv[1] == "recent" {
		return recent.Main(argv[2:], &recent.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	}
	fmt.Fprintf(os.Stderr, "nfgo: unknown command %q\n\n%s", argv[1], usage)
	return 2
}

// conntrackMain runs the conntrack tool. The standalone binary has no
// connection tracking table (a running gateway holds the live one): -h,
// -V and parameter errors behave as conntrack's, the rest says so.
func conntrackMain(args []string) int {
	return ctool.Main(args, &ctool.Env{Stdout: os.Stdout, Stderr: os.Stderr})
}
