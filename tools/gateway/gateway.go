// Package gateway implements "nfgo gateway": the live data plane as a
// daemon. It creates its TUN devices (moving each into a network
// namespace if asked), loads the rule store, and routes packets between
// the devices through the engine until SIGTERM or SIGINT; SIGHUP reloads
// the rules and sets from the store (what `nfgo iptables` and `nfgo ipset`
// change), atomically. Packet LOG lines go through the log pipeline
// (files routed by prefix, rotated); the daemon's own messages go to
// stderr through log/slog. With systemd (Type=notify) it reports READY=1
// once packets flow.
package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gw "github.com/nfgo/nfgo/gateway"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/logpipe"
	ctool "github.com/nfgo/nfgo/tools/conntrack"
	ipsettool "github.com/nfgo/nfgo/tools/ipset"
	"github.com/nfgo/nfgo/tools/iptables"
	"github.com/nfgo/nfgo/tools/recent"
)

// Env is the process environment.
type Env struct {
	Stdout, Stderr io.Writer
	StateDir       string
}

const usage = `Usage: nfgo gateway --tun SPEC [--tun SPEC ...] [OPTIONS]

Routes packets between TUN devices through the rule store's ruleset:
conntrack, NAT, sets, REJECT, LOG. SIGHUP reloads the rules and sets
from the store; SIGTERM or SIGINT stops.

  --tun NAME,ADDR/LEN[,netns=NS][,peer=ADDR/LEN][,default][,mtu=N][,queues=N]
        a TUN device named NAME where the gateway has address ADDR; with
        netns, the device is moved into namespace NS (ip netns) and gets
        the peer address there, with "default" a default route via ADDR
  --route DST/LEN,via=ADDR,dev=NAME   an extra route
  --state DIR          the rule store (default: $NFGO_STATE_DIR, /var/lib/nfgo)
  --log FILE           packet LOG and TRACE lines (default: discarded)
  --log-route PREFIX=TARGET   lines starting with PREFIX to TARGET (repeatable)
  --log-rotate SPEC    rotation of the log files, e.g. daily,keep=30,compress
  --metrics ADDR       serve Prometheus metrics on ADDR (e.g. 127.0.0.1:9520)
  --queues N           queues per TUN device, each served by its own worker;
                       the kernel spreads flows over them (default: one per
                       CPU, at most 16; a device's queues=N overrides)
  --config FILE        options from FILE, one per line without the dashes
                       ("tun nfgo0,10.0.1.1/24"; # comments), read before
                       the command line's (e.g. /etc/nfgo/gateway.conf)
`

func parseTun(spec string) (gw.DeviceConfig, error) {
	var d gw.DeviceConfig
	parts := strings.Split(spec, ",")
	if len(parts) < 2 {
		return d, fmt.Errorf("--tun %q: NAME,ADDR/LEN needed", spec)
	}
	d.Name = parts[0]
	if d.Name == "" || len(d.Name) > 15 {
		return d, fmt.Errorf("--tun %q: bad device name", spec)
	}
	p, err := netip.ParsePrefix(parts[1])
	if err != nil || !p.Addr().Is4() {
		return d, fmt.Errorf("--tun %q: bad address %q", spec, parts[1])
	}
	d.Addr = p
	for _, kv := range parts[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "netns":
			d.Netns = v
		case "peer":
			if d.PeerAddr, err = netip.ParsePrefix(v); err != nil || !d.PeerAddr.Addr().Is4() {
				return d, fmt.Errorf("--tun %q: bad peer address %q", spec, v)
			}
		case "default":
			d.PeerDefault = true
		case "mtu":
			if d.MTU, err = strconv.Atoi(v); err != nil || d.MTU < 68 || d.MTU > 65535 {
				return d, fmt.Errorf("--tun %q: bad mtu %q", spec, v)
			}
		case "queues":
			if d.Queues, err = parseQueues(v); err != nil {
				return d, fmt.Errorf("--tun %q: %v", spec, err)
			}
		default:
			return d, fmt.Errorf("--tun %q: unknown %q", spec, kv)
		}
	}
	return d, nil
}

func parseQueues(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > gw.MaxQueues {
		return 0, fmt.Errorf("bad queue count %q (1 to %d)", v, gw.MaxQueues)
	}
	return n, nil
}

func parseRoute(spec string) (host.Route, error) {
	var r host.Route
	parts := strings.Split(spec, ",")
	p, err := netip.ParsePrefix(parts[0])
	if err != nil {
		return r, fmt.Errorf("--route %q: bad destination", spec)
	}
	r.Dst, r.Type = p.Masked(), "unicast"
	for _, kv := range parts[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "via":
			if r.Gateway, err = netip.ParseAddr(v); err != nil {
				return r, fmt.Errorf("--route %q: bad gateway", spec)
			}
		case "dev":
			r.Dev = v
		default:
			return r, fmt.Errorf("--route %q: unknown %q", spec, kv)
		}
	}
	if r.Dev == "" {
		return r, fmt.Errorf("--route %q: dev= needed", spec)
	}
	return r, nil
}

// Main runs the daemon until a signal stops it.
func Main(args []string, env *Env) int {
	args, err := expandConfig(args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
		return 2
	}
	cfg := gw.Config{StateDir: env.StateDir}
	var logFile, rotate, metrics string
	var routes []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, bool) {
			if i+1 >= len(args) {
				fmt.Fprintf(env.Stderr, "nfgo gateway: option %s needs an argument\n", a)
				return "", false
			}
			i++
			return args[i], true
		}
		var v string
		var ok bool
		switch a {
		case "-h", "--help":
			io.WriteString(env.Stdout, usage)
			return 0
		case "--tun", "--route", "--state", "--log", "--log-route", "--log-rotate", "--metrics", "--queues":
			if v, ok = val(); !ok {
				return 2
			}
		default:
			fmt.Fprintf(env.Stderr, "nfgo gateway: unknown option %q\nTry `nfgo gateway --help' for more information.\n", a)
			return 2
		}
		switch a {
		case "--tun":
			d, err := parseTun(v)
			if err != nil {
				fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
				return 2
			}
			cfg.Devices = append(cfg.Devices, d)
		case "--route":
			routes = append(routes, v)
		case "--state":
			cfg.StateDir = v
		case "--log":
			logFile = v
		case "--log-route":
			routes = append(routes, "\x00"+v)
		case "--log-rotate":
			rotate = v
		case "--metrics":
			metrics = v
		case "--queues":
			n, err := parseQueues(v)
			if err != nil {
				fmt.Fprintf(env.Stderr, "nfgo gateway: --queues: %v\n", err)
				return 2
			}
			cfg.Queues = n
		}
	}
	if len(cfg.Devices) == 0 {
		fmt.Fprintf(env.Stderr, "nfgo gateway: at least one --tun is needed\n")
		return 2
	}
	var logRoutes []logpipe.RouteSpec
	for _, r := range routes {
		if strings.HasPrefix(r, "\x00") {
			rs, err := logpipe.ParseRoute(r[1:])
			if err != nil {
				fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
				return 2
			}
			logRoutes = append(logRoutes, rs)
			continue
		}
		rt, err := parseRoute(r)
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
			return 2
		}
		cfg.Routes = append(cfg.Routes, rt)
	}
	fo := logpipe.FileOptions{Stamp: logpipe.StampTraditional, Host: hostname()}
	if rotate != "" {
		r, err := logpipe.ParseRotate(rotate)
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
			return 2
		}
		fo.Rotate = &r
	}
	lg := slog.New(slog.NewTextHandler(env.Stderr, nil))
	cfg.Logger = lg
	router := &logpipe.Router{}
	if logFile != "" {
		s, err := logpipe.OpenTarget(logFile, fo, env.Stdout)
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
			return 1
		}
		router.Default = s
	}
	for _, r := range logRoutes {
		s, err := logpipe.OpenTarget(r.Target, fo, env.Stdout)
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
			return 1
		}
		router.Routes = append(router.Routes, logpipe.Route{Prefix: r.Prefix, Sink: s, Continue: r.Continue})
	}
	defer router.Close()
	cfg.Log = router
	toolMu.Lock() // New loads the store as a reload does
	g, err := gw.New(cfg)
	toolMu.Unlock()
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo gateway: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reloads := make(chan struct{})
	go func() {
		defer close(reloads)
		for range hup {
			toolMu.Lock()
			err := g.Reload()
			toolMu.Unlock()
			if err != nil {
				lg.Error("reload failed; the old rules stay", "err", err)
			}
		}
	}()
	// The reloader stops with the daemon (a daemon started again in the
	// same process must not have two reloading the store).
	defer func() {
		signal.Stop(hup)
		close(hup)
		<-reloads
	}()
	sock := filepath.Join(g.StateDir(), gw.SocketName)
	go func() {
		g.SetStreams(Streams(g))
		if err := g.Serve(ctx, sock, Executor(g)); err != nil {
			lg.Error("control socket", "err", err)
		}
	}()
	if metrics != "" {
		l, err := net.Listen("tcp", metrics)
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo gateway: metrics: %v\n", err)
			return 1
		}
		srv := &http.Server{Handler: g.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(l)
		defer srv.Close()
	}
	lg.Info("gateway running", "devices", len(cfg.Devices), "workers", len(g.WorkerPackets()), "control", sock)
	notify("READY=1")
	if err := g.Run(ctx); err != nil {
		lg.Error("gateway stopped", "err", err)
		return 1
	}
	notify("STOPPING=1")
	lg.Info("gateway stopped")
	return 0
}

// Executor runs the tools in the daemon: iptables, iptables-save and
// iptables-restore, ipset on the store (the ruleset swapped in when the
// store changed), conntrack on the live table, recent on the live lists.
//
// One tool runs at a time, and not during a SIGHUP reload: the tools and
// the reload set the process's set lookups (xt.LookupSet, xt.Sets), and
// one command's store change is reloaded before the next reads the store,
// as iptables commands queue on the xtables lock.
func Executor(g *gw.Gateway) gw.Executor {
	return func(req *gw.Request) *gw.Response {
		toolMu.Lock()
		defer toolMu.Unlock()
		dir := g.StateDir()
		var out, errb bytes.Buffer
		stdin := bytes.NewReader(req.Stdin)
		switch req.Tool {
		case "iptables", "iptables-save", "iptables-restore":
			// The tools show and keep what the gateway counted.
			if err := g.SyncCounters(); err != nil {
				fmt.Fprintf(&errb, "nfgo gateway: counters not synced: %v\n", err)
			}
		}
		before := storeState(dir)
		code := 0
		switch req.Tool {
		case "iptables":
			code = iptables.Main(req.Args, &iptables.Env{Stdin: stdin, Stdout: &out, Stderr: &errb, StateDir: dir})
		case "iptables-save":
			code = iptables.SaveMain(req.Args, &iptables.Env{Stdin: stdin, Stdout: &out, Stderr: &errb, StateDir: dir})
		case "iptables-restore":
			code = iptables.RestoreMain(req.Args, &iptables.Env{Stdin: stdin, Stdout: &out, Stderr: &errb, StateDir: dir})
		case "ipset":
			code = ipsettool.Main(req.Args, &ipsettool.Env{Stdin: stdin, Stdout: &out, Stderr: &errb, StateDir: dir})
		case "conntrack":
			// -S prints a line per CPU, as the kernel's per-CPU statistics.
			code = ctool.Main(req.Args, &ctool.Env{Stdout: &out, Stderr: &errb, Table: g.Stack.CT, CPUs: runtime.NumCPU()})
		case "recent":
			code = recent.Main(req.Args, &recent.Env{Stdout: &out, Stderr: &errb})
		case "rst":
			g.RST.Print(&out)
		default:
			fmt.Fprintf(&errb, "nfgo gateway: no tool %q here\n", req.Tool)
			code = 2
		}
		if storeState(dir) != before {
			reload := g.Reload
			switch req.Tool {
			case "iptables", "iptables-save", "iptables-restore":
				// What the tool did to the counters it was shown (-Z,
				// -c) stands.
				reload = g.ReloadSynced
			}
			if err := reload(); err != nil {
				fmt.Fprintf(&errb, "nfgo gateway: the store changed but its rules do not load: %v (the old rules stay)\n", err)
				if code == 0 {
					code = 1
				}
			}
		}
		return &gw.Response{Stdout: out.Bytes(), Stderr: errb.Bytes(), Code: code}
	}
}

// toolMu serialises the tools run in the daemon and the SIGHUP reloads.
var toolMu sync.Mutex

// Streams runs the streaming tools in the daemon: conntrack -E, whose
// events flow to the client until it goes.
func Streams(g *gw.Gateway) gw.StreamExecutor {
	return func(req *gw.Request, out io.Writer, done <-chan struct{}) (*gw.Response, bool) {
		if req.Tool != "conntrack" || !ctool.IsEvents(req.Args) {
			return nil, false
		}
		var errb bytes.Buffer
		code := ctool.Main(req.Args, &ctool.Env{Stdout: out, Stderr: &errb, Table: g.Stack.CT, Subscribe: g.SubscribeCT, Done: done})
		return &gw.Response{Stderr: errb.Bytes(), Code: code}, true
	}
}

// storeState is what decides whether a tool changed the store: the
// contents of its rule and set files.
func storeState(dir string) string {
	var b strings.Builder
	for _, f := range []string{"rules.v4", "ipset.save"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		b.WriteString(strconv.Itoa(len(data)))
		b.WriteByte(0)
		b.Write(data)
	}
	return b.String()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}

// notify is sd_notify: a datagram to $NOTIFY_SOCKET when systemd runs us.
func notify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}
