// Package rstattr attributes TCP resets, seed 000's first question: for
// every RST, its 4-tuple, which end of its connection sent it (the
// client, which opened it, or the server, by conntrack's original
// direction), whether this host or a peer sent it, whether a REJECT rule
// made it (and which), and the connection's state, age and traffic before
// it. It hears packets as the replay reports them (replay.Result): from a
// capture (nfgo rst) or from the live gateway.
package rstattr

import (
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/replay"
)

// Tracker follows connections and records their resets. It is safe for
// concurrent use. Max bounds the resets kept (0: all), the oldest going
// first.
type Tracker struct {
	Max    int
	mu     sync.Mutex
	flows  map[*conntrack.Conn]*flow
	resets []Reset
	seen   int
}

// Observe hears one packet of a replay (or of the gateway).
func (t *Tracker) Observe(res *replay.Result) {
	if res.Kind == "forwarded" || res.Kind == "skipped" || res.Kind == "unexplained" {
		return
	}
	ip := res.Pkt.IP
	isRST := len(ip) >= 20 && ip[9] == 6 && int(ip[0]&0x0F)*4+14 <= len(ip) && ip[int(ip[0]&0x0F)*4+13]&0x04 != 0
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flows == nil {
		t.flows = map[*conntrack.Conn]*flow{}
	}
	var f *flow
	if c := res.Conn; c != nil {
		if f = t.flows[c]; f == nil {
			f = &flow{first: res.Pkt.Time}
			t.flows[c] = f
		}
	}
	if isRST {
		t.resets = append(t.resets, newReset(res, f))
		if t.Max > 0 && len(t.resets) > t.Max {
			t.resets = append(t.resets[:0], t.resets[len(t.resets)-t.Max:]...)
		}
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
	// Forget connections the table no longer has, now and then.
	if t.seen++; t.seen%4096 == 0 {
		for c := range t.flows {
			if c.Status()&conntrack.StatusDying != 0 {
				delete(t.flows, c)
			}
		}
	}
}

// Resets returns the resets recorded so far.
func (t *Tracker) Resets() []Reset {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Reset(nil), t.resets...)
}

// Print writes the resets and the summary by sender.
func (t *Tracker) Print(w io.Writer) { Print(w, t.Resets()) }

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

// Print writes resets, one line each, then a summary by sender.
func Print(w io.Writer, resets []Reset) {
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
