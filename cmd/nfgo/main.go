// Command nfgo is the multi-call binary: it answers as iptables,
// iptables-save and iptables-restore when called by those names (argv[0])
// or as "nfgo iptables ...", "nfgo iptables-save ...".
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/nfgo/nfgo/gateway"
	"github.com/nfgo/nfgo/store"

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
  ipset             create and change IP sets (ipset 7.17 syntax: the hash,
                    bitmap and list:set types, inet and inet6)
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

// viaGateway hands a tool invocation to the running gateway of the state
// directory, if one answers on its control socket: the gateway runs it on
// its store and live tables. ok is false when no gateway runs (the tool
// then runs here); NFGO_NO_GATEWAY=1 never asks.
func viaGateway(tool string, args []string) (code int, ok bool) {
	if os.Getenv("NFGO_NO_GATEWAY") != "" {
		return 0, false
	}
	dir := os.Getenv("NFGO_STATE_DIR")
	if dir == "" {
		dir = store.Dir()
	}
	req := &gateway.Request{Tool: tool, Args: args}
	if readsStdin(tool, args) {
		req.Stdin, _ = io.ReadAll(os.Stdin)
	}
	// conntrack -E streams until interrupted; then, as conntrack does,
	// it says how many events it showed and exits 0.
	var shown atomic.Int64
	if tool == "conntrack" && ctool.IsEvents(args) {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			fmt.Fprintf(os.Stderr, "conntrack v1.4.7 (conntrack-tools): %d flow events have been shown.\n", shown.Load())
			os.Exit(0)
		}()
	}
	resp, err := gateway.CallStream(context.Background(), dir, req, func(r *gateway.Response) {
		os.Stdout.Write(r.Stdout)
		shown.Add(int64(bytes.Count(r.Stdout, []byte("\n"))))
	})
	if errors.Is(err, gateway.ErrNoDaemon) {
		if req.Stdin != nil {
			// Already consumed: run here with what was read.
			os.Stdin = stdinFrom(req.Stdin)
		}
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "nfgo: %v\n", err)
		return 1, true
	}
	os.Stdout.Write(resp.Stdout)
	os.Stderr.Write(resp.Stderr)
	return resp.Code, true
}

// readsStdin says whether a tool invocation reads its standard input
// (restores without a file), which then goes along with the request.
func readsStdin(tool string, args []string) bool {
	switch tool {
	case "iptables-restore":
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				return false // a file
			}
		}
		return true
	case "ipset":
		for _, a := range args {
			if a == "restore" || a == "-R" || a == "-" {
				return true
			}
		}
	}
	return false
}

// stdinFrom gives back, as standard input, bytes already read from it.
func stdinFrom(b []byte) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		return os.Stdin
	}
	go func() {
		w.Write(b)
		w.Close()
	}()
	return r
}

// gatewayTools are the tools a running gateway answers for.
var gatewayTools = map[string]string{
	"iptables": "iptables", "iptables-legacy": "iptables",
	"iptables-save": "iptables-save", "iptables-legacy-save": "iptables-save",
	"iptables-restore": "iptables-restore", "iptables-legacy-restore": "iptables-restore",
	"ipset": "ipset", "conntrack": "conntrack", "recent": "recent",
}

func run(argv []string) int {
	env := &iptables.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	name := filepath.Base(argv[0])
	tool, args := name, argv[1:]
	if _, ok := gatewayTools[tool]; !ok && len(argv) > 1 {
		tool, args = argv[1], argv[2:]
	}
	if t, ok := gatewayTools[tool]; ok {
		if code, ok := viaGateway(t, args); ok {
			return code
		}
		env.Stdin = os.Stdin
	}
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
