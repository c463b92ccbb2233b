// Package rst implements "nfgo rst": seed 000's first question — which
// side sent a TCP reset, and on which connection — answered from a
// capture. Every RST is listed with its 4-tuple, which end of its
// connection sent it (the client, which opened it, or the server, by
// conntrack's original direction), whether this host or a peer sent it,
// whether an iptables REJECT rule made it (and which), and the
// connection's state, age and packet and byte counts before it; then a
// summary by sender. The capture runs through the host's ruleset as in
// nfgo replay, with connection tracking on, so the connection states are
// the kernel's.
package rst

import (
	"fmt"
	"io"
	"strings"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/gateway"
	"github.com/nfgo/nfgo/internal/offline"
	"github.com/nfgo/nfgo/replay"
	"github.com/nfgo/nfgo/rstattr"
	"github.com/nfgo/nfgo/store"
)

// Env is the process environment.
type Env struct {
	Stdout, Stderr io.Writer
	StateDir       string
}

const usage = `Usage: nfgo rst [OPTIONS] CAPTURE...
       nfgo rst --live [--state DIR]

Lists every TCP reset of a capture: its 4-tuple, which end of its
connection sent it (client or server), whether this host or a peer sent
it, the REJECT rule that made it if one did, and the connection's state,
age and traffic before it; then a summary by sender. A CAPTURE is FILE or
IFACE=FILE, as for nfgo replay.

Options:
  --rules FILE    ruleset in iptables-save format (default: the rule store)
  --ipsets FILE   sets in ipset save format (default: the store's)
  --host FILE     interfaces, as printed by "ip -j addr show"
  --routes FILE   routes, as printed by "ip -j route show"
  --no-forward    the host did not forward (default: it did)
  --live          the resets the running gateway has seen so far
  --state DIR     the running gateway's state directory (with --live)
`

type options struct {
	rulesFile, ipsetsFile, hostFile, routesFile string
	stateDir                                    string
	noForward, live                             bool
	captures                                    []string
}

var errHelp = fmt.Errorf("help")

func parseArgs(args []string) (*options, error) {
	o := &options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func(dst *string) error {
			if i+1 >= len(args) {
				return fmt.Errorf("option %s needs an argument", a)
			}
			i++
			*dst = args[i]
			return nil
		}
		var err error
		switch a {
		case "-h", "--help":
			return nil, errHelp
		case "--rules":
			err = val(&o.rulesFile)
		case "--ipsets":
			err = val(&o.ipsetsFile)
		case "--host":
			err = val(&o.hostFile)
		case "--routes":
			err = val(&o.routesFile)
		case "--no-forward":
			o.noForward = true
		case "--live":
			o.live = true
		case "--state":
			err = val(&o.stateDir)
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return nil, fmt.Errorf("unknown option %q", a)
			}
			o.captures = append(o.captures, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if o.live && len(o.captures) > 0 {
		return nil, fmt.Errorf("--live takes no capture")
	}
	if len(o.captures) == 0 && !o.live {
		return nil, fmt.Errorf("no capture given")
	}
	return o, nil
}

// Main runs "nfgo rst ARGS".
func Main(args []string, env *Env) int {
	o, err := parseArgs(args)
	if err == errHelp {
		io.WriteString(env.Stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo rst: %v\nTry `nfgo rst --help' for more information.\n", err)
		return 2
	}
	if o.live {
		dir := o.stateDir
		if dir == "" {
			dir = env.StateDir
		}
		if dir == "" {
			dir = store.Dir()
		}
		resp, err := gateway.Call(dir, &gateway.Request{Tool: "rst"})
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo rst: %v\n", err)
			return 1
		}
		env.Stdout.Write(resp.Stdout)
		env.Stderr.Write(resp.Stderr)
		return resp.Code
	}
	rs, err := offline.LoadRules(o.rulesFile, o.ipsetsFile, env.StateDir, "nfgo rst")
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo rst: %v\n", err)
		return 1
	}
	h, err := offline.LoadHost(o.hostFile, o.routesFile, !o.noForward)
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo rst: %v\n", err)
		return 1
	}
	var srcs []capture.Source
	for _, c := range o.captures {
		srcs = append(srcs, capture.ParseSource(c))
	}
	pkts, err := capture.ReadAll(srcs, capture.HostInterfaces(h), nil)
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo rst: %v\n", err)
		return 1
	}
	tr := &rstattr.Tracker{}
	// Connections are tracked whatever the rules need: the question is
	// about connections.
	r, err := replay.New(replay.Options{Rules: rs, Host: h, Track: true, OnPacket: tr.Observe})
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo rst: %v\n", err)
		return 1
	}
	for i := range pkts {
		r.Feed(&pkts[i])
	}
	tr.Print(env.Stdout)
	return 0
}
