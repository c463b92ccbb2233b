// Package gateway is nfgo's live data plane: TUN devices (one per side),
// each optionally moved into a network namespace with the peer's address
// and a default route through the gateway, and the packets they carry run
// through the engine as a router's kernel runs them — PREROUTING,
// routing, INPUT or FORWARD, OUTPUT, POSTROUTING, with conntrack, NAT,
// sets, REJECT replies — then written to the device the route chose.
// Packets to the gateway's own addresses get what a host gives them: ICMP
// echo requests are answered. The devices have checksum and segmentation
// offloads: a GSO super-packet (up to 64 KiB of one TCP or UDP flow)
// crosses the ruleset once, whole, and leaves as it came, NAT updating
// its partial checksum, as the kernel's own forwarding path handles it.
// The ruleset and sets come from the rule store at start and again on
// Reload (SIGHUP in the daemon); a reload is one atomic swap, so
// established connections carry on.
//
// Each device has one or more queues (IFF_MULTI_QUEUE), each read by a
// worker of its own: the kernel's TUN driver spreads flows over the
// queues by flow hash, so a flow's packets keep their order on one
// worker while different flows run in parallel. The engine, conntrack,
// the reset tracker and the log sinks are safe for concurrent use; all
// per-packet state lives in the worker.
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
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	// Queues is the number of the device's queues, each read by its own
	// worker (0: Config.Queues). One queue opens the device as a plain
	// TUN; more open it with IFF_MULTI_QUEUE. With the same count on
	// every device a flow stays on one queue index both ways; with
	// different counts the kernel may move a flow once, to the queue its
	// replies were written to.
	Queues int
}

// MaxQueues bounds a device's queues (the kernel's own limit is 256).
const MaxQueues = 64

// DefaultQueues is the queue count used when none is configured: one per
// CPU, at most 16 (beyond that the shared ruleset and conntrack, not the
// workers, limit the rate).
func DefaultQueues() int {
	return min(runtime.NumCPU(), 16)
}

// Config configures a gateway.
type Config struct {
	StateDir string // the rule store (rules.v4, ipset.save)
	Devices  []DeviceConfig
	Routes   []host.Route // routes beyond the devices' subnets
	// Queues is every device's queue count unless its own says otherwise
	// (0: DefaultQueues()).
	Queues int
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

	mu sync.Mutex // serialises reloads
	// synced is the live ruleset with the counters SyncCounters last
	// wrote into the store (under mu); ReloadSynced counts from it.
	synced  *rules.Ruleset
	ctl     sync.Mutex // serialises control requests
	stopped atomic.Bool

	// RST attributes the TCP resets crossing or made by the gateway
	// (nfgo rst --live asks for them).
	RST *rstattr.Tracker

	// Counters, for metrics and tests.
	Received, Forwarded, Delivered, Dropped, Generated, TUNErrors, LogLines atomic.Uint64
	// GSO counts the received packets that were GSO super-packets (each
	// crossed the stack once, whole, as in the kernel).
	GSO    atomic.Uint64
	dropMu sync.Mutex
	drops  map[string]uint64

	streams StreamExecutor
	// ctSubs are the listeners to connection tracking events (conntrack
	// -E), copied on change and read on the packet path without a lock.
	ctSubs atomic.Pointer[[]*ctSub]
	subMu  sync.Mutex
}

type ctSub struct{ f conntrack.EventFunc }

// SubscribeCT has f hear every connection tracking event (it runs on the
// packet path: it must not block) until cancel is called.
func (g *Gateway) SubscribeCT(f conntrack.EventFunc) (cancel func()) {
	s := &ctSub{f: f}
	g.subMu.Lock()
	defer g.subMu.Unlock()
	var subs []*ctSub
	if p := g.ctSubs.Load(); p != nil {
		subs = append(subs, *p...)
	}
	subs = append(subs, s)
	g.ctSubs.Store(&subs)
	return func() {
		g.subMu.Lock()
		defer g.subMu.Unlock()
		var rest []*ctSub
		for _, x := range *g.ctSubs.Load() {
			if x != s {
				rest = append(rest, x)
			}
		}
		g.ctSubs.Store(&rest)
	}
}

func (g *Gateway) ctEvent(events uint32, c *conntrack.Conn, now int64) {
	if p := g.ctSubs.Load(); p != nil {
		for _, s := range *p {
			s.f(events, c, now)
		}
	}
}

type device struct {
	cfg DeviceConfig
	// tun is queue 0: wireguard/tun creates the device (or takes over the
	// queue opened here), negotiates its offloads and sets its MTU.
	tun tun.Device
	// queues are the device's file descriptors, one per queue, each read
	// by one worker and written by any, one frame at a time (wireguard's
	// Read would split GSO super-packets, which the gateway forwards
	// whole).
	queues []*queue
	hdr    int // vnetHdrLen when frames carry a virtio-net header, else 0
	// capture, set by tests, takes the frames written to the device
	// (and the queue they were written to).
	capture func(q int, frame []byte)
}

type queue struct {
	rc   syscall.RawConn
	file *os.File // nil for queue 0, which tun owns
	// packets counts the packets its worker read (metrics).
	packets atomic.Uint64
	_       [48]byte // keeps the workers' counters off each other's cache lines
}

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
		if dc.Queues == 0 {
			dc.Queues = cfg.Queues
		}
		if dc.Queues == 0 {
			dc.Queues = DefaultQueues()
		}
		if dc.Queues < 1 || dc.Queues > MaxQueues {
			g.Close()
			return nil, fmt.Errorf("TUN %s: %d queues (1 to %d)", dc.Name, dc.Queues, MaxQueues)
		}
		d, err := openDevice(dc)
		if d != nil {
			g.devs[dc.Name] = d
			g.order = append(g.order, d)
		}
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("TUN %s: %v", dc.Name, err)
		}
		// Every queue is attached by now: attaching goes by name in this
		// namespace, and the device may be about to leave it.
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
	g.Stack.CT.Events = g.ctEvent
	return g, nil
}

// openDevice creates the TUN device dc names with its queues. One queue
// is wireguard/tun's own device; with more, queue 0 is opened here with
// IFF_MULTI_QUEUE and handed to wireguard/tun (which sets the offloads,
// for the whole device, and the MTU), then the others are attached. On
// error the device returned (if any) holds what was opened, for Close.
func openDevice(dc DeviceConfig) (*device, error) {
	var td tun.Device
	var err error
	if dc.Queues == 1 {
		td, err = tun.CreateTUN(dc.Name, dc.MTU)
	} else {
		var f *os.File
		if f, err = openQueue(dc.Name); err == nil {
			if td, err = tun.CreateTUNFromFile(f, dc.MTU); err != nil {
				f.Close()
			}
		}
	}
	if err != nil {
		return nil, err
	}
	d := &device{cfg: dc, tun: td}
	rc, err := td.File().SyscallConn()
	if err != nil {
		return d, err
	}
	d.queues = append(d.queues, &queue{rc: rc})
	if d.hdr, err = vnetHdrOf(rc); err != nil {
		return d, err
	}
	for len(d.queues) < dc.Queues {
		f, err := openQueue(dc.Name)
		if err != nil {
			return d, fmt.Errorf("queue %d: %v", len(d.queues), err)
		}
		q := &queue{file: f}
		d.queues = append(d.queues, q)
		if q.rc, err = f.SyscallConn(); err != nil {
			return d, err
		}
	}
	return d, nil
}

// openQueue opens a queue of the multi-queue TUN device name, creating
// the device if it is the first: frames with a virtio-net header (the
// offloads are the device's, set once through any queue), the fd
// non-blocking so that Go's poller serves it.
func openQueue(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
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
	if err := s.Save(stored); err != nil {
		return err
	}
	g.synced = live
	return nil
}

// ReloadSynced is Reload after a tool changed the store that
// SyncCounters had filled: the tool's counters (zeroed by -Z, set by -c)
// stand, plus what the gateway counted since the sync, as libiptc hands
// the kernel a table's counters. Without a sync it is Reload.
func (g *Gateway) ReloadSynced() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	base := g.synced
	g.synced = nil
	rs, err := g.loadStore()
	if err != nil {
		return err
	}
	old := g.Stack.Engine.Snapshot()
	live := old.Ruleset.Clone()
	old.Counters(live)
	if base == nil {
		carryCounters(live, rs)
	} else {
		carryDelta(live, base, rs)
	}
	if err := g.Stack.Engine.Swap(rs); err != nil {
		return err
	}
	g.log.Info("rules reloaded from the store")
	return nil
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

// carryDelta adds to each rule and built-in chain policy of to that
// live and base also have (matched as carryCounters matches them) what
// live counted beyond base.
func carryDelta(live, base, to *rules.Ruleset) {
	// Where live or base lack a rule, carryCounters leaves its counters
	// as they are in to: no delta.
	now, then := to.Clone(), to.Clone()
	carryCounters(live, now)
	carryCounters(base, then)
	for ti, t := range to.Tables {
		for ci, c := range t.Chains {
			if c.Builtin {
				c.Counters = addDelta(c.Counters, now.Tables[ti].Chains[ci].Counters, then.Tables[ti].Chains[ci].Counters)
			}
			for ri, r := range c.Rules {
				r.Counters = addDelta(r.Counters, now.Tables[ti].Chains[ci].Rules[ri].Counters, then.Tables[ti].Chains[ci].Rules[ri].Counters)
			}
		}
	}
}

func addDelta(v, now, then rules.Counters) rules.Counters {
	if now.Packets >= then.Packets && now.Bytes >= then.Bytes {
		v.Packets += now.Packets - then.Packets
		v.Bytes += now.Bytes - then.Bytes
	}
	return v
}

// Run moves packets until ctx ends or a device fails: one worker per
// queue of every device. It returns once the devices are closed and
// every worker has stopped.
func (g *Gateway) Run(ctx context.Context) error {
	n := 0
	for _, d := range g.order {
		n += len(d.queues)
	}
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for _, d := range g.order {
		for q := range d.queues {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- g.readLoop(d, q)
			}()
		}
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// A worker's error is a device failing (a worker stopped by Close
	// returns nil): the others stop with it.
	g.Close()
	wg.Wait()
	return err
}

// Close closes the devices' queues (the kernel removes each device with
// its last queue); the workers reading them stop.
func (g *Gateway) Close() {
	if !g.stopped.CompareAndSwap(false, true) {
		return
	}
	for _, d := range g.order {
		for _, q := range d.queues {
			if q.file != nil {
				q.file.Close()
			}
		}
		if d.tun != nil {
			d.tun.Close()
		}
	}
}

// WorkerPackets is the number of packets each worker read, by
// "device/queue".
func (g *Gateway) WorkerPackets() map[string]uint64 {
	m := map[string]uint64{}
	for _, d := range g.order {
		for i, q := range d.queues {
			m[d.cfg.Name+"/"+strconv.Itoa(i)] = q.packets.Load()
		}
	}
	return m
}

// worker moves the packets that arrive on one queue of a device: it
// reads a frame, runs it through the stack and writes what comes out, one
// at a time, to the output device's queue of the same index (modulo its
// count), so that the kernel steers the flow's replies back to the
// matching worker. Everything it needs per packet lives here, never
// shared with another worker, so that workers run without locks and the
// path from read to write allocates nothing.
type worker struct {
	g  *Gateway
	in *device
	q  int // the input queue's index
	// buf holds the frame read: the packet always starts at vnetHdrLen,
	// so that a forwarded packet is written from the same buffer with
	// the output device's header just before it.
	buf  []byte
	n    int
	err  error
	read func(fd uintptr) bool

	frame []byte
	werr  error
	write func(fd uintptr) bool

	p   xt.Pkt
	ev  events
	out []byte // frames built for packets not in buf
	res replay.Result
	cap capture.Packet
}

func (g *Gateway) newWorker(d *device, q int) *worker {
	w := &worker{g: g, in: d, q: q, buf: make([]byte, vnetHdrLen+65535), ev: events{g: g}}
	w.read = func(fd uintptr) bool {
		for {
			n, err := unix.Read(int(fd), w.buf[vnetHdrLen-w.in.hdr:])
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return false // wait for the fd to be readable
			}
			w.n, w.err = n, err
			return true
		}
	}
	w.write = func(fd uintptr) bool {
		for {
			_, err := unix.Write(int(fd), w.frame)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return false
			}
			w.werr = err
			return true
		}
	}
	return w
}

func (g *Gateway) readLoop(d *device, q int) error {
	w := g.newWorker(d, q)
	rc := d.queues[q].rc
	for {
		err := rc.Read(w.read)
		if err == nil {
			err = w.err
		}
		if err != nil {
			if g.stopped.Load() || errors.Is(err, os.ErrClosed) || errors.Is(err, unix.EBADFD) {
				return nil
			}
			return fmt.Errorf("%s queue %d: read: %v", d.cfg.Name, q, err)
		}
		w.handle(w.n - d.hdr)
	}
}

// handle runs the packet of n bytes in w.buf (after the input device's
// header, if it has one) through the stack. The packet is decoded and
// rewritten in place; when it is forwarded whole, the same buffer goes
// out. A GSO super-packet crosses the stack once, as in the kernel.
func (w *worker) handle(n int) {
	g, d := w.g, w.in
	g.Received.Add(1)
	d.queues[w.q].packets.Add(1)
	var h vnetHdr
	if d.hdr > 0 {
		if n < 0 {
			g.Dropped.Add(1)
			g.countDrop(&netfilter.Outcome{Drop: "malformed"})
			return
		}
		h = decodeVnetHdr(w.buf[:vnetHdrLen])
	}
	p := &w.p
	scratch := p.Scratch[:0]
	*p = xt.Pkt{Time: time.Now().UnixNano(), Events: &w.ev, Scratch: scratch}
	if p.Decode(w.buf[vnetHdrLen:vnetHdrLen+n]) != nil || !h.apply(&p.Parsed) {
		g.Dropped.Add(1)
		g.countDrop(&netfilter.Outcome{Drop: "malformed"})
		return
	}
	if p.GSOSize > 0 {
		g.GSO.Add(1)
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
		w.observe(p, rst, &o, tcp)
	}
	w.emit(&o)
	switch {
	case o.Sent:
		g.Forwarded.Add(1)
		out := g.devs[o.OutIface]
		if out == nil {
			return
		}
		if o.Fragments != nil {
			for _, f := range o.Fragments {
				w.send(out, f, nil)
			}
			return
		}
		w.send(out, p.B, &p.Parsed)
	case o.Local:
		g.Delivered.Add(1)
		w.local(p)
	default:
		g.Dropped.Add(1)
		g.countDrop(&o)
	}
}

// send writes packet b to device out. off describes its offload state
// (nil: complete checksums, no segmentation). A packet still where it was
// read is written from there; others are copied behind a header first.
func (w *worker) send(out *device, b []byte, off *packet.Parsed) {
	if off != nil && off.CsumPartial && out.hdr == 0 {
		w.sendFinished(out, off)
		return
	}
	var frame []byte
	if len(b) > 0 && len(w.buf) > vnetHdrLen && &b[0] == &w.buf[vnetHdrLen] {
		frame = w.buf[vnetHdrLen-out.hdr : vnetHdrLen+len(b)]
	} else {
		w.out = append(append(w.out[:0], make([]byte, vnetHdrLen)...), b...)
		frame = w.out[vnetHdrLen-out.hdr:]
	}
	if out.hdr > 0 {
		putVnetHdr(frame[:vnetHdrLen], off)
	}
	w.writeFrame(out, frame)
}

// sendFinished is send for a device without offloads: a partial
// checksum is completed, a GSO packet segmented, in software.
func (w *worker) sendFinished(out *device, p *packet.Parsed) {
	if p.GSOSize > 0 {
		for _, s := range packet.Segment(p) {
			w.send(out, s, nil)
		}
		return
	}
	p.FinishPartial()
	w.send(out, p.B, nil)
}

func (w *worker) writeFrame(out *device, frame []byte) {
	q := w.q % len(out.queues)
	if out.capture != nil {
		out.capture(q, frame)
		return
	}
	w.frame, w.werr = frame, nil
	err := out.queues[q].rc.Write(w.write)
	if err == nil {
		err = w.werr
	}
	if err != nil && !w.g.stopped.Load() {
		w.g.TUNErrors.Add(1)
		w.g.log.Warn("TUN write", "device", out.cfg.Name, "err", err)
	}
}

// observe tells the reset tracker about a received packet and the
// replies the stack made for it.
func (w *worker) observe(p *xt.Pkt, rst []byte, o *netfilter.Outcome, tcp bool) {
	g := w.g
	ip := rst
	if ip == nil {
		ip = p.B
	}
	if tcp {
		// The tracker keeps nothing of the result but what it copies,
		// so the worker's own serves every packet.
		w.cap = capture.Packet{Time: p.Time, Iface: w.in.cfg.Name, IP: ip}
		w.res = replay.Result{Kind: "received", Pkt: &w.cap, Conn: p.Conn, CtInfo: p.CtInfo}
		g.RST.Observe(&w.res)
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

// emit writes the packets the stack generated (REJECT replies, ICMP
// errors) that left through a device.
func (w *worker) emit(o *netfilter.Outcome) {
	for _, e := range o.Emitted {
		if e.Outcome.Sent {
			if out := w.g.devs[e.Outcome.OutIface]; out != nil {
				w.g.Generated.Add(1)
				w.send(out, e.Packet, nil)
			}
		}
	}
}

// local is the gateway's own stack for packets delivered to it, a host
// with no sockets open: ICMP echo requests are answered, a TCP segment
// gets the RST of a closed port (the client sees "connection refused"),
// a UDP datagram an ICMP port unreachable, and a protocol the kernel has
// no handler for an ICMP protocol unreachable, each through OUTPUT and
// POSTROUTING as the kernel sends them.
func (w *worker) local(p *xt.Pkt) {
	if p.IsFragment() {
		return
	}
	switch p.Proto {
	case packet.ProtoICMP, 2, 103, 136:
		// ICMP below; IGMP, PIM and UDP-Lite have handlers in the kernel
		// and answer nothing here.
	default:
		p.Hook = xt.HookLocalIn
		p.Replies = p.Replies[:0]
		switch p.Proto {
		case packet.ProtoTCP:
			xt.HostReset(p)
		case packet.ProtoUDP:
			xt.HostPortUnreach(p)
		default:
			xt.HostProtoUnreach(p)
		}
		for _, b := range p.Replies {
			q := &xt.Pkt{Time: p.Time, Events: &w.ev}
			if q.Decode(b) != nil {
				continue
			}
			w.sendLocal(q)
		}
		p.Replies = p.Replies[:0]
		return
	}
	if p.Proto != packet.ProtoICMP || p.ICMPType != 8 {
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
	q := &xt.Pkt{Time: time.Now().UnixNano(), Events: &w.ev}
	if q.Decode(r) != nil {
		return
	}
	w.sendLocal(q)
}

// sendLocal sends a packet the gateway's own stack made through OUTPUT
// and POSTROUTING, and out of its device.
func (w *worker) sendLocal(q *xt.Pkt) {
	g := w.g
	o := g.Stack.Send(q)
	w.emit(&o)
	if out := g.devs[o.OutIface]; o.Sent && out != nil {
		g.Generated.Add(1)
		w.send(out, q.B, nil)
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
