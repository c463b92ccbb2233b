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
	"sort"
	"strings"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/offline"
	"github.com/nfgo/nfgo/replay"
)

// Env is the process environment.
type Env struct {
	Stdout, Stderr io.Writer
	StateDir       string
}

const usage = `Usage: nfgo rst [OPTIONS] CAPTURE...

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
`

type options struct {
	rulesFile, ipsetsFile, hostFile, routesFile string
	noForward                                   bool
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
	if len(o.captures) == 0 {
		return nil, fmt.Errorf("no capture given")
	}
	return o, nil
}

// flow is what was seen of one connection.
type flow struct {
	first   int64
	packets [2]uint64 // original, reply
	bytes   [2]uint64
	state   uint8 // TCP state after the last packet
}

// Reset is one RST of the capture.
type Reset struct {
	Index   int
	Time    int64
	Iface   string
	Tuple   string // "SRC:SPORT -> DST:DPORT"
	Src     string // the sender's address
	End     string // "client", "server", or "unknown (no connection)"
	ByHost  bool   // this host sent it
	MadeBy  string // the REJECT rule, if nfgo's ruleset made it
	State   string // the connection's TCP state before the reset
	Age     int64  // ns since the connection's first packet
	Packets [2]uint64
	Bytes   [2]uint64
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
	flows := map[*conntrack.Conn]*flow{}
	var resets []Reset
	// Connections are tracked whatever the rules need: the question is
	// about connections.
	r, err := replay.New(replay.Options{Rules: rs, Host: h, Track: true, OnPacket: func(res *replay.Result) {
		if res.Kind == "forwarded" || res.Kind == "skipped" || res.Kind == "unexplained" {
			return
		}
		ip := res.Pkt.IP
		isRST := len(ip) >= 20 && ip[9] == 6 && int(ip[0]&0x0F)*4+14 <= len(ip) && ip[int(ip[0]&0x0F)*4+13]&0x04 != 0
		var f *flow
		if c := res.Conn; c != nil {
			if f = flows[c]; f == nil {
				f = &flow{first: res.Pkt.Time}
				flows[c] = f
			}
		}
		if isRST {
			resets = append(resets, newReset(res, f))
		}
		if f != nil {
			d := 0
			if res.CtInfo.IsReply() {
				d = 1
			}
			f.packets[d]++
			f.bytes[d] += uint64(len(ip))
			f.state = res.Conn.TCPState()
		}
	}})
	if err != nil {
		fmt.Fprintf(env.Stderr, "nfgo rst: %v\n", err)
		return 1
	}
	for i := range pkts {
		r.Feed(&pkts[i])
	}
	print(env.Stdout, resets)
	return 0
}

var tcpStates = []string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

func newReset(res *replay.Result, f *flow) Reset {
	ip := res.Pkt.IP
	hl := int(ip[0]&0x0F) * 4
	src := fmt.Sprintf("%d.%d.%d.%d", ip[12], ip[13], ip[14], ip[15])
	dst := fmt.Sprintf("%d.%d.%d.%d", ip[16], ip[17], ip[18], ip[19])
	sport := int(ip[hl])<<8 | int(ip[hl+1])
	dport := int(ip[hl+2])<<8 | int(ip[hl+3])
	rs := Reset{Index: res.Index, Time: res.Pkt.Time, Iface: res.Pkt.Iface, Src: src,
		Tuple: fmt.Sprintf("%s:%d -> %s:%d", src, sport, dst, dport), MadeBy: res.MadeBy, End: "unknown (no connection)"}
	// The host's own packets: its stack's, looped back, or REJECT's.
	rs.ByHost = res.Kind == "local" || res.Kind == "loopback" || res.Kind == "reply"
	if res.Conn != nil {
		rs.End = "client"
		if res.CtInfo.IsReply() {
			rs.End = "server"
		}
	}
	if f != nil {
		rs.Age = res.Pkt.Time - f.first
		rs.Packets, rs.Bytes = f.packets, f.bytes
		if int(f.state) < len(tcpStates) {
			rs.State = tcpStates[f.state]
		}
	}
	return rs
}

func print(w io.Writer, resets []Reset) {
	for _, r := range resets {
		who := "a peer"
		if r.ByHost {
			who = "this host"
		}
		fmt.Fprintf(w, "RST %d.%06d %s %s: sent by the %s (%s)", r.Time/1e9, r.Time%1e9/1e3, r.Iface, r.Tuple, r.End, who)
		if r.MadeBy != "" {
			fmt.Fprintf(w, ", made by %s", r.MadeBy)
		}
		if r.State != "" {
			fmt.Fprintf(w, "; connection %s, %.3f s old, %d packets/%d bytes from the client, %d/%d from the server",
				r.State, float64(r.Age)/1e9, r.Packets[0], r.Bytes[0], r.Packets[1], r.Bytes[1])
		} else if r.End != "client" && r.End != "server" {
			fmt.Fprintf(w, "; no tracked connection")
		}
		fmt.Fprintln(w)
	}
	type agg struct {
		n, client, server, reject int
		host                      bool
	}
	by := map[string]*agg{}
	for _, r := range resets {
		a := by[r.Src]
		if a == nil {
			a = &agg{}
			by[r.Src] = a
		}
		a.n++
		switch r.End {
		case "client":
			a.client++
		case "server":
			a.server++
		}
		if r.MadeBy != "" {
			a.reject++
		}
		a.host = a.host || r.ByHost
	}
	var names []string
	for k := range by {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if by[names[i]].n != by[names[j]].n {
			return by[names[i]].n > by[names[j]].n
		}
		return names[i] < names[j]
	})
	fmt.Fprintf(w, "%d resets\n", len(resets))
	if len(names) > 0 {
		fmt.Fprintln(w, "by sender:")
	}
	for _, n := range names {
		a := by[n]
		who := ""
		if a.host {
			who = " (this host)"
		}
		fmt.Fprintf(w, "  %-15s%s %d: %d as client, %d as server", n, who, a.n, a.client, a.server)
		if a.reject > 0 {
			fmt.Fprintf(w, ", %d by REJECT rules", a.reject)
		}
		fmt.Fprintln(w)
	}
}
