// Package gateway is nfgo's live data plane: TUN devices (one per side),
// each optionally moved into a network namespace with the peer's address
// and a default route through the gateway, and the packets they carry run
// through the engine as a router's kernel runs them — PREROUTING,
// routing, INPUT or FORWARD, OUTPUT, POSTROUTING, with conntrack, NAT,
// sets, REJECT replies — then written to the device the route chose.
// Packets to the gateway's own addresses get what a host gives them: ICMP
// echo requests are answered. The ruleset and sets come from the rule
// store at start and again on Reload (SIGHUP in the daemon); a reload is
// one atomic swap, so established connections carry on.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/internal/setlink"
	"github.com/nfgo/nfgo/logpipe"
	"github.com/nfgo/nfgo/netfilter"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/replay"
	"github.com/nfgo/nfgo/rstattr"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/store"
	"github.com/nfgo/nfgo/xt"
)

// DeviceConfig is one TUN device of the gateway.
type DeviceConfig struct {
	Name string       // the TUN device's name
	Addr netip.Prefix // the gateway's address on it (e.g. 10.0.1.1/24)
	MTU  int          // 0: 1500
	// Netns, when set, is the network namespace (a name under
	// /var/run/netns) the device is moved into; there it gets PeerAddr
	// and, with PeerDefault, a default route via Addr.
	Netns       string
	PeerAddr    netip.Prefix
	PeerDefault bool
}

// Config configures a gateway.
type Config struct {
	StateDir string // the rule store (rules.v4, ipset.save)
	Devices  []DeviceConfig
	Routes   []host.Route // routes beyond the devices' subnets
	// Log receives packet LOG and TRACE lines (nil: discarded).
	Log    logpipe.Sink
	Logger *slog.Logger // the daemon's own log (nil: discarded)
}

// Gateway is a running data plane.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	Stack *netfilter.Stack
	devs  map[string]*device
	order []*device

	mu      sync.Mutex // serialises reloads
	ctl     sync.Mutex // serialises control requests
	stopped atomic.Bool

	// RST attributes the TCP resets crossing or made by the gateway
	// (nfgo rst --live asks for them).
	RST *rstattr.Tracker

	// Counters, for metrics and tests.
	Received, Forwarded, Delivered, Dropped, Generated, TUNErrors, LogLines atomic.Uint64
	dropMu                                                                  sync.Mutex
	drops                                                                   map[string]uint64
}

type device struct {
	cfg DeviceConfig
	tun tun.Device
	wmu sync.Mutex
}

const offset = 16 // headroom before each packet: the virtio-net header

// New creates the TUN devices, configures their namespaces, loads the
// rule store and builds the stack. Close undoes what it can.
func New(cfg Config) (*Gateway, error) {
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(discard{}, nil))
	}
	g := &Gateway{cfg: cfg, log: lg, devs: map[string]*device{}, RST: &rstattr.Tracker{Max: 10000}}
	var ifaces []*host.Interface
	routes := append([]host.Route(nil), cfg.Routes...)
	ifaces = append(ifaces, &host.Interface{Index: 1, Name: "lo", MTU: 65536, Up: true, LinkType: "loopback",
		Addrs: []host.Addr{{IP: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8, Scope: "host"}}})
	for i, dc := range cfg.Devices {
		if dc.MTU == 0 {
			dc.MTU = 1500
		}
		td, err := tun.CreateTUN(dc.Name, dc.MTU)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("TUN %s: %v", dc.Name, err)
		}
		d := &device{cfg: dc, tun: td}
		g.devs[dc.Name] = d
		g.order = append(g.order, d)
		if err := configure(dc); err != nil {
			g.Close()
			return nil, fmt.Errorf("TUN %s: %v", dc.Name, err)
		}
		ifaces = append(ifaces, &host.Interface{Index: i + 2, Name: dc.Name, MTU: dc.MTU, Up: true, LinkType: "none",
			Addrs: []host.Addr{{IP: dc.Addr.Addr(), PrefixLen: dc.Addr.Bits(), Scope: "global"}}})
		routes = append(routes, host.Route{Dst: dc.Addr.Masked(), Dev: dc.Name, Type: "unicast", PrefSrc: dc.Addr.Addr()})
	}
	h := host.New(ifaces, routes, true)
	rs, err := g.loadStore()
	if err != nil {
		g.Close()
		return nil, err
	}
	eng, err := netfilter.New(rs)
	if err != nil {
		g.Close()
		return nil, err
	}
	xt.ResetStatefulTables()
	g.Stack = &netfilter.Stack{Engine: eng, Host: h, Env: netfilter.NewEnv(h, randU32), CT: conntrack.NewTable(conntrack.HostConfig()), RouterICMP: true}
	return g, nil
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// randU32 is the environment's randomness (NAT port search, statistic).
func randU32() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint32(time.Now().UnixNano())
	}
	return binary.LittleEndian.Uint32(b[:])
}

// StateDir is the rule store's directory.
func (g *Gateway) StateDir() string {
	if g.cfg.StateDir != "" {
		return g.cfg.StateDir
	}
	return store.Dir()
}

// loadStore reads the ruleset and the sets from the store.
func (g *Gateway) loadStore() (*rules.Ruleset, error) {
	dir := g.StateDir()
	xt.LookupSet = setlink.LookupFrom(dir)
	reg, err := setlink.Registry(dir)
	if err != nil {
		return nil, fmt.Errorf("sets: %v", err)
	}
	xt.Sets = reg
	s, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	return s.Load(xt.FamilyIPv4)
}

// Reload reads the store again and swaps the new ruleset in atomically:
// packets see the old rules or the new ones, connections carry on.
func (g *Gateway) Reload() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	rs, err := g.loadStore()
	if err != nil {
		return err
	}
	// The rules that stay keep their counters, as iptables keeps them
	// across a table replace.
	old := g.Stack.Engine.Snapshot()
	live := old.Ruleset.Clone()
	old.Counters(live)
	carryCounters(live, rs)
	if err := g.Stack.Engine.Swap(rs); err != nil {
		return err
	}
	g.log.Info("rules reloaded from the store")
	return nil
}

// SyncCounters writes the live counters into the store, so that the
// tools reading it (iptables -L -v, iptables-save -c) show what the
// gateway counted. The store's rules are left as they are: only rules
// the running ruleset also has take its counters.
func (g *Gateway) SyncCounters() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, err := store.Open(g.StateDir())
	if err != nil {
		return err
	}
	lk, err := s.Lock(5)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	stored, err := s.Load(xt.FamilyIPv4)
	if err != nil {
		return err
	}
	snap := g.Stack.Engine.Snapshot()
	live := snap.Ruleset.Clone()
	snap.Counters(live)
	carryCounters(live, stored)
	return s.Save(stored)
}

// carryCounters gives each rule of to that from also has (same table,
// chain and rule text, the n-th such) its counters there, and each
// built-in chain its policy counters.
func carryCounters(from, to *rules.Ruleset) {
	type key struct {
		table, chain, spec string
		n                  int
	}
	counts := map[key]rules.Counters{}
	policies := map[[2]string]rules.Counters{}
	seen := map[key]int{}
	for _, t := range from.Tables {
		for _, c := range t.Chains {
			if c.Builtin {
				policies[[2]string{t.Name, c.Name}] = c.Counters
			}
			for _, r := range c.Rules {
				k := key{t.Name, c.Name, rules.RuleSpec(from.Family, t.Name, c.Name, r), 0}
				k.n = seen[k]
				seen[key{k.table, k.chain, k.spec, 0}]++
				counts[k] = r.Counters
			}
		}
	}
	seen = map[key]int{}
	for _, t := range to.Tables {
		for _, c := range t.Chains {
			if p, ok := policies[[2]string{t.Name, c.Name}]; ok && c.Builtin {
				c.Counters = p
			}
			for _, r := range c.Rules {
				k := key{t.Name, c.Name, rules.RuleSpec(to.Family, t.Name, c.Name, r), 0}
				k.n = seen[k]
				seen[key{k.table, k.chain, k.spec, 0}]++
				if v, ok := counts[k]; ok {
					r.Counters = v
				}
			}
		}
	}
}

// Run moves packets until ctx ends or a device fails.
func (g *Gateway) Run(ctx context.Context) error {
	errc := make(chan error, len(g.order))
	for _, d := range g.order {
		go func(d *device) { errc <- g.readLoop(d) }(d)
	}
	select {
	case <-ctx.Done():
		g.Close()
		return nil
	case err := <-errc:
		g.Close()
		if g.stopped.Load() {
			return nil
		}
		return err
	}
}

// Close closes the devices (the kernel removes them).
func (g *Gateway) Close() {
	if !g.stopped.CompareAndSwap(false, true) {
		return
	}
	for _, d := range g.order {
		d.tun.Close()
	}
}

func (g *Gateway) readLoop(d *device) error {
	n := d.tun.BatchSize()
	bufs := make([][]byte, n)
	sizes := make([]int, n)
	for i := range bufs {
		bufs[i] = make([]byte, offset+65535)
	}
	b := &batch{out: map[*device][][]byte{}}
	ev := &events{g: g}
	for {
		k, err := d.tun.Read(bufs, sizes, offset)
		if err != nil {
			if g.stopped.Load() || errors.Is(err, os.ErrClosed) {
				return nil
			}
			if errors.Is(err, tun.ErrTooManySegments) {
				g.TUNErrors.Add(1)
				continue
			}
			return fmt.Errorf("%s: read: %v", d.cfg.Name, err)
		}
		for i := 0; i < k; i++ {
			g.handle(d, bufs[i], sizes[i], ev, b)
		}
		g.flush(b)
	}
}

// batch collects, per output device, the packets one read produced, each
// with offset bytes of headroom, so that they are written in one call
// (which lets the TUN driver coalesce TCP segments: GRO).
type batch struct {
	out map[*device][][]byte
}

func (b *batch) add(d *device, buf []byte) {
	b.out[d] = append(b.out[d], buf)
}

// headroom copies a packet into a buffer with the write offset before it.
func headroom(p []byte) []byte {
	buf := make([]byte, offset+len(p))
	copy(buf[offset:], p)
	return buf
}

func (g *Gateway) flush(b *batch) {
	for d, bufs := range b.out {
		if len(bufs) == 0 {
			continue
		}
		d.wmu.Lock()
		_, err := d.tun.Write(bufs, offset)
		d.wmu.Unlock()
		if err != nil && !g.stopped.Load() {
			g.TUNErrors.Add(1)
			g.log.Warn("TUN write", "device", d.cfg.Name, "err", err)
		}
		b.out[d] = bufs[:0]
	}
}

// handle runs one packet that arrived on d through the stack. The packet
// is decoded in place (buf[offset:offset+size]); when it is forwarded
// whole, the same buffer goes out, headroom included.
func (g *Gateway) handle(d *device, buf []byte, size int, ev *events, b *batch) {
	g.Received.Add(1)
	p := &xt.Pkt{Time: time.Now().UnixNano(), Events: ev}
	if p.Decode(buf[offset:offset+size]) != nil {
		g.Dropped.Add(1)
		g.countDrop(&netfilter.Outcome{Drop: "malformed"})
		return
	}
	// The packet as it arrived, for the reset tracker (its bytes are
	// rewritten in place on the way).
	var rst []byte
	if p.Proto == packet.ProtoTCP && p.TCPFlags&packet.TCPRst != 0 {
		rst = append([]byte(nil), p.B...)
	}
	tcp := p.Proto == packet.ProtoTCP
	o := g.Stack.Receive(p, d.cfg.Name, nil)
	if tcp || len(o.Emitted) > 0 {
		// Resets are TCP: other packets cost the tracker nothing.
		g.observe(d, p, rst, &o, tcp)
	}
	g.emit(&o, b)
	switch {
	case o.Sent:
		g.Forwarded.Add(1)
		out := g.devs[o.OutIface]
		if out == nil {
			return
		}
		switch {
		case o.Fragments != nil:
			for _, f := range o.Fragments {
				b.add(out, headroom(f))
			}
		case len(p.B) == size:
			b.add(out, buf[:offset+size])
		default:
			b.add(out, headroom(p.B))
		}
	case o.Local:
		g.Delivered.Add(1)
		g.local(p, ev, b)
	default:
		g.Dropped.Add(1)
		g.countDrop(&o)
	}
}

// observe tells the reset tracker about a received packet and the
// replies the stack made for it.
func (g *Gateway) observe(d *device, p *xt.Pkt, rst []byte, o *netfilter.Outcome, tcp bool) {
	ip := rst
	if ip == nil {
		ip = p.B
	}
	if tcp {
		g.RST.Observe(&replay.Result{Kind: "received", Pkt: &capture.Packet{Time: p.Time, Iface: d.cfg.Name, IP: ip}, Conn: p.Conn, CtInfo: p.CtInfo})
	}
	for _, e := range o.Emitted {
		if !e.Outcome.Sent || len(e.Packet) < 20 || e.Packet[9] != packet.ProtoTCP {
			continue
		}
		res := &replay.Result{Kind: "reply", Pkt: &capture.Packet{Time: p.Time, Iface: e.Outcome.OutIface, IP: e.Packet},
			Conn: p.Conn, MadeBy: replay.DecidingRule(g.Stack.Engine.Snapshot().Ruleset, o)}
		if p.Conn != nil {
			res.CtInfo = conntrack.Attach(p.CtInfo)
		}
		g.RST.Observe(res)
	}
}

// emit queues the packets the stack generated (REJECT replies, ICMP
// errors) that left through a device.
func (g *Gateway) emit(o *netfilter.Outcome, b *batch) {
	for _, e := range o.Emitted {
		if e.Outcome.Sent {
			if out := g.devs[e.Outcome.OutIface]; out != nil {
				g.Generated.Add(1)
				b.add(out, headroom(e.Packet))
			}
		}
	}
}

// local is the gateway's own stack for packets delivered to it: ICMP
// echo requests are answered (through OUTPUT and POSTROUTING).
func (g *Gateway) local(p *xt.Pkt, ev *events, b *batch) {
	if p.Proto != packet.ProtoICMP || p.ICMPType != 8 || p.FragOffset() != 0 || p.IsFragment() {
		return
	}
	r := append([]byte(nil), p.B...)
	hl := p.IHL
	binary.BigEndian.PutUint32(r[12:], p.Dst)
	binary.BigEndian.PutUint32(r[16:], p.Src)
	r[8] = 64
	r[10], r[11] = 0, 0
	binary.BigEndian.PutUint16(r[10:], packet.Checksum16(r[:hl], 0))
	r[hl] = 0
	r[hl+2], r[hl+3] = 0, 0
	binary.BigEndian.PutUint16(r[hl+2:], packet.Checksum16(r[hl:], 0))
	q := &xt.Pkt{Time: time.Now().UnixNano(), Events: ev}
	if q.Decode(r) != nil {
		return
	}
	o := g.Stack.Send(q)
	g.emit(&o, b)
	if out := g.devs[o.OutIface]; o.Sent && out != nil {
		g.Generated.Add(1)
		b.add(out, headroom(q.B))
	}
}

// events hands LOG and TRACE lines to the log pipeline.
type events struct {
	g   *Gateway
	buf []byte
}

func (e *events) Log(p *xt.Pkt, level uint8, line []byte) {
	e.g.LogLines.Add(1)
	if e.g.cfg.Log != nil {
		e.g.cfg.Log.WriteLine(time.Unix(0, p.Time), level, line)
	}
}

func (e *events) Trace(p *xt.Pkt, table, chain, comment string, rulenum int) {
	e.g.LogLines.Add(1)
	if e.g.cfg.Log != nil {
		e.buf = xt.AppendTraceLine(e.buf[:0], p, table, chain, comment, rulenum)
		e.g.cfg.Log.WriteLine(time.Unix(0, p.Time), 4, e.buf)
	}
}
