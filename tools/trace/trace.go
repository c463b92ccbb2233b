// Package trace implements "nfgo trace": a packet's path through every
// table, chain and rule of a ruleset on a described host, with the reason
// each rule did or did not match, the verdict, and the LOG and TRACE lines
// the kernel would print. Nothing is sent; no privileges are needed.
package trace

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/internal/offline"
	"github.com/nfgo/nfgo/logline"
	"github.com/nfgo/nfgo/netfilter"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// Env is the process environment.
type Env struct {
	Stdout, Stderr io.Writer
	StateDir       string
}

const usage = `Usage: nfgo trace [OPTIONS] PACKET
       nfgo trace [OPTIONS] --pcap FILE --in IFACE

Shows a packet's path through every table, chain and rule.

Options:
  --rules FILE     ruleset in iptables-save format (default: the rule store)
  --host FILE      interfaces, as printed by "ip -j addr show"
  --routes FILE    routes, as printed by "ip -j route show"
  --no-forward     the host does not forward (default: it does)
  --format F       "text" (default) or "kernel": only the TRACE and LOG
                   lines the kernel would print
  --log FILE       also append the TRACE and LOG lines, in kernel format,
                   to FILE
  --pcap FILE      take every packet of an Ethernet capture, in order
  --in IFACE       the interface the capture's packets arrive on

Packet (iptables-like):
  -i IFACE         arrives on IFACE (without -i: sent by the host itself)
  -p tcp|udp|icmp|N  -s ADDR  -d ADDR  --sport N  --dport N
  --syn  --tcp-flags FLAG[,FLAG]  --seq N  --ack N
  --icmp-type T[/C]  --ttl N  --tos N  --id N  --df  --len N  --mark N

Without --host, the host has lo 127.0.0.1/8, eth0 10.0.0.1/24,
eth1 192.168.1.1/24 and a default route via 10.0.0.254 on eth0.
`

var defaultAddrJSON = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","UP"],"mtu":1500,"link_type":"ether","address":"02:00:00:00:00:01","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24,"broadcast":"10.0.0.255"}]},
{"ifindex":3,"ifname":"eth1","flags":["BROADCAST","UP"],"mtu":1500,"link_type":"ether","address":"02:00:00:00:00:02","addr_info":[{"family":"inet","local":"192.168.1.1","prefixlen":24,"broadcast":"192.168.1.255"}]}]`

var defaultRouteJSON = `[{"dst":"default","gateway":"10.0.0.254","dev":"eth0"},{"dst":"10.0.0.0/24","dev":"eth0"},{"dst":"192.168.1.0/24","dev":"eth1"}]`

// peerMAC is the sender's MAC address of crafted packets.
var peerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xfe}

type options struct {
	rulesFile, hostFile, routesFile string
	logFile                         string
	noForward                       bool
	format                          string
	pcapFile, pcapIn                string
	in                              string
	spec                            packet.Spec
	mark                            uint32
	tcpFlagsSet                     bool
}

func fail(env *Env, format string, a ...any) int {
	fmt.Fprintf(env.Stderr, "nfgo trace: "+format+"\n", a...)
	return 2
}

func parseAddr(s string) (uint32, error) {
	ip := net.ParseIP(s).To4()
	if ip == nil {
		return 0, fmt.Errorf("bad IPv4 address %q", s)
	}
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3]), nil
}

func parseArgs(args []string) (*options, error) {
	o := &options{format: "text"}
	o.spec.Proto = packet.ProtoTCP
	next := func(i *int, name string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("option %s needs an argument", name)
		}
		*i++
		return args[*i], nil
	}
	num := func(s string, max uint64) (uint64, error) {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil || v > max {
			return 0, fmt.Errorf("bad number %q", s)
		}
		return v, nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		var err error
		var n uint64
		switch a {
		case "--rules", "--host", "--routes", "--format", "--pcap", "--in", "--log", "-i", "-p", "-s", "-d",
			"--sport", "--dport", "--tcp-flags", "--icmp-type", "--ttl", "--tos", "--id", "--len", "--mark", "--seq", "--ack":
			if v, err = next(&i, a); err != nil {
				return nil, err
			}
		}
		switch a {
		case "-h", "--help":
			return nil, errHelp
		case "--rules":
			o.rulesFile = v
		case "--log":
			o.logFile = v
		case "--host":
			o.hostFile = v
		case "--routes":
			o.routesFile = v
		case "--no-forward":
			o.noForward = true
		case "--format":
			if v != "text" && v != "kernel" {
				return nil, fmt.Errorf("unknown format %q (text or kernel)", v)
			}
			o.format = v
		case "--pcap":
			o.pcapFile = v
		case "--in":
			o.pcapIn = v
		case "-i":
			o.in = v
		case "-p":
			p, err := xt.ParseProtocol(strings.ToLower(v))
			if err != nil {
				return nil, fmt.Errorf("unknown protocol %q", v)
			}
			o.spec.Proto = p
		case "-s":
			o.spec.Src, err = parseAddr(v)
		case "-d":
			o.spec.Dst, err = parseAddr(v)
		case "--sport":
			n, err = num(v, 65535)
			o.spec.SrcPort = uint16(n)
		case "--dport":
			n, err = num(v, 65535)
			o.spec.DstPort = uint16(n)
		case "--syn":
			o.spec.TCPFlags, o.tcpFlagsSet = packet.TCPSyn, true
		case "--tcp-flags":
			var f uint8
			f, err = xt.ParseTCPFlags(v)
			o.spec.TCPFlags, o.tcpFlagsSet = f, true
		case "--seq":
			n, err = num(v, 1<<32-1)
			o.spec.Seq = uint32(n)
		case "--ack":
			n, err = num(v, 1<<32-1)
			o.spec.Ack = uint32(n)
		case "--icmp-type":
			t, c, _ := strings.Cut(v, "/")
			if n, err = num(t, 255); err == nil {
				o.spec.ICMPType = uint8(n)
				if c != "" {
					n, err = num(c, 255)
					o.spec.ICMPCode = uint8(n)
				}
			}
		case "--ttl":
			n, err = num(v, 255)
			o.spec.TTL = uint8(n)
		case "--tos":
			n, err = num(v, 255)
			o.spec.TOS = uint8(n)
		case "--id":
			n, err = num(v, 65535)
			o.spec.ID = uint16(n)
		case "--len":
			n, err = num(v, 65535)
			o.spec.TotalLen = int(n)
		case "--df":
			o.spec.DF = true
		case "--mark":
			n, err = num(v, 1<<32-1)
			o.mark = uint32(n)
		default:
			return nil, fmt.Errorf("unknown option %q", a)
		}
		if err != nil {
			return nil, err
		}
	}
	if o.spec.Proto == packet.ProtoTCP && !o.tcpFlagsSet {
		o.spec.TCPFlags = packet.TCPSyn
	}
	if o.spec.Proto == packet.ProtoICMP && o.spec.ICMPType == 0 && !strings.Contains(strings.Join(args, " "), "--icmp-type") {
		o.spec.ICMPType = 8
	}
	if o.pcapFile != "" && o.pcapIn == "" {
		return nil, fmt.Errorf("--pcap needs --in IFACE")
	}
	return o, nil
}

var errHelp = fmt.Errorf("help")

// Main runs "nfgo trace ARGS".
func Main(args []string, env *Env) int {
	o, err := parseArgs(args)
	if err == errHelp {
		io.WriteString(env.Stdout, usage)
		return 0
	}
	if err != nil {
		return fail(env, "%v\n%s", err, "Try `nfgo trace --help' for more information.")
	}
	rs, err := loadRules(o, env)
	if err != nil {
		return fail(env, "%v", err)
	}
	h, err := loadHost(o)
	if err != nil {
		return fail(env, "%v", err)
	}
	eng, err := netfilter.New(rs)
	if err != nil {
		return fail(env, "%v", err)
	}
	st := &netfilter.Stack{Engine: eng, Host: h, Env: netfilter.NewEnv(h, nil)}
	// Connection tracking state carries from packet to packet of a
	// capture; timeouts are this host's, or the kernel's defaults.
	st.CT = conntrack.NewTable(conntrack.HostConfig())
	xt.ResetStatefulTables()
	tr := &tracer{w: env.Stdout, kernel: o.format == "kernel", host: h, rs: rs, hook: -1}
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fail(env, "%v", err)
		}
		defer f.Close()
		tr.logFile = f
	}
	if o.pcapFile != "" {
		return tr.runPcap(env, st, o)
	}
	if o.spec.Src == 0 {
		o.spec.Src = 0xcb007105 // 203.0.113.5
		if o.in == "" {
			if ifc := h.Iface("eth0"); ifc != nil {
				if a, ok := ifc.Primary(); ok {
					b := a.As4()
					o.spec.Src = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
				}
			}
		}
	}
	if o.spec.Dst == 0 {
		o.spec.Dst = 0x0a000001
	}
	if o.spec.SrcPort == 0 {
		o.spec.SrcPort = 40000
	}
	if o.spec.DstPort == 0 {
		o.spec.DstPort = 80
	}
	raw := packet.Build(&o.spec)
	var mac []byte
	if o.in != "" {
		ifc := h.Iface(o.in)
		if ifc == nil {
			return fail(env, "the host has no interface %q", o.in)
		}
		mac = ethHeader(ifc.MAC, peerMAC)
	}
	tr.one(st, raw, o.in, mac, o.mark)
	return 0
}

func ethHeader(dst, src net.HardwareAddr) []byte {
	m := make([]byte, 14)
	copy(m[0:6], dst)
	copy(m[6:12], src)
	m[12], m[13] = 0x08, 0x00
	return m
}

func loadRules(o *options, env *Env) (*rules.Ruleset, error) {
	return offline.LoadRules(o.rulesFile, "", env.StateDir, "nfgo trace")
}

func loadHost(o *options) (*host.Host, error) {
	addr, routes := []byte(defaultAddrJSON), []byte(defaultRouteJSON)
	if o.hostFile != "" {
		b, err := os.ReadFile(o.hostFile)
		if err != nil {
			return nil, err
		}
		addr, routes = b, nil
	}
	if o.routesFile != "" {
		b, err := os.ReadFile(o.routesFile)
		if err != nil {
			return nil, err
		}
		routes = b
	}
	return host.Load(addr, routes, !o.noForward)
}

// tracer prints one packet's path; it is the packet's event sink and
// explainer.
type tracer struct {
	w      io.Writer
	kernel bool
	host   *host.Host
	rs     *rules.Ruleset
	buf    []byte
	cur    string // "table chain" being printed
	hook   int    // hook being printed, -1 none
	// addrs is the packet's addresses and ports as last shown: a NAT
	// rewrite is reported when they change.
	addrs string
	// logFile receives the TRACE and LOG lines in kernel format (--log).
	logFile io.Writer
}

func (t *tracer) Log(p *xt.Pkt, level uint8, line []byte) {
	t.toFile(line)
	if t.kernel {
		fmt.Fprintf(t.w, "%s\n", line)
		return
	}
	fmt.Fprintf(t.w, "      LOG <%d> %s\n", level, line)
}

func (t *tracer) Trace(p *xt.Pkt, table, chain, comment string, rulenum int) {
	t.buf = xt.AppendTraceLine(t.buf[:0], p, table, chain, comment, rulenum)
	t.toFile(t.buf)
	if t.kernel {
		fmt.Fprintf(t.w, "%s\n", t.buf)
		return
	}
	fmt.Fprintf(t.w, "      %s\n", t.buf)
}

// toFile appends a kernel-format line to the --log file.
func (t *tracer) toFile(line []byte) {
	if t.logFile == nil {
		return
	}
	t.logFile.Write(line)
	t.logFile.Write([]byte{'\n'})
}

// endpoints formats a packet's addresses and ports (ICMP: its id).
func endpoints(p *xt.Pkt) string {
	src, dst := addrString(p.Src), addrString(p.Dst)
	switch {
	case p.Proto == packet.ProtoICMP && p.L4Len >= 8:
		id := int(p.B[p.L4Off+4])<<8 | int(p.B[p.L4Off+5])
		return fmt.Sprintf("%s -> %s id %d", src, dst, id)
	case p.Proto == packet.ProtoTCP || p.Proto == packet.ProtoUDP:
		return fmt.Sprintf("%s:%d -> %s:%d", src, p.SrcPort, dst, p.DstPort)
	}
	return src + " -> " + dst
}

func addrString(a uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&0xFF, a>>8&0xFF, a&0xFF)
}

// noteNAT reports a rewrite (NAT) since the packet was last shown.
func (t *tracer) noteNAT(p *xt.Pkt) {
	if e := endpoints(p); e != t.addrs {
		fmt.Fprintf(t.w, "  NAT rewrote the packet: %s\n", e)
		t.addrs = e
	}
}

func (t *tracer) header(p *xt.Pkt, table, chain string) {
	if t.kernel {
		return
	}
	t.noteNAT(p)
	if int(p.Hook) != t.hook {
		t.hook = int(p.Hook)
		t.cur = ""
		fmt.Fprintf(t.w, "%s (in %q, out %q)\n", hookNames[p.Hook], p.InIface, p.OutIface)
	}
	if k := table + " " + chain; k != t.cur {
		fmt.Fprintf(t.w, "  %s %s\n", table, chain)
		t.cur = k
	}
}

func (t *tracer) Rule(p *xt.Pkt, table, chain string, num int, matched bool, failed string) {
	if t.kernel {
		return
	}
	t.header(p, table, chain)
	spec := ""
	if tb := t.rs.Table(table); tb != nil {
		if c := tb.Chain(chain); c != nil && num >= 1 && num <= len(c.Rules) {
			spec = rules.RuleSpec(t.rs.Family, table, chain, c.Rules[num-1])
		}
	}
	if matched {
		fmt.Fprintf(t.w, "    %3d matched       %s\n", num, spec)
	} else {
		fmt.Fprintf(t.w, "    %3d did not match %s\n          (failed: %s)\n", num, spec, failed)
	}
}

func (t *tracer) End(p *xt.Pkt, table, chain, policy string) {
	if t.kernel {
		return
	}
	t.header(p, table, chain)
	if policy != "" {
		fmt.Fprintf(t.w, "    end of chain: policy %s\n", policy)
	} else {
		fmt.Fprintf(t.w, "    end of chain: return\n")
	}
}

var hookNames = [xt.NumHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

func verdictString(v xt.Verdict) string {
	switch v {
	case xt.VerdictAccept:
		return "ACCEPT"
	case xt.VerdictDrop:
		return "DROP"
	case xt.VerdictQueue:
		return "QUEUE"
	}
	return "CONTINUE"
}

func (t *tracer) one(st *netfilter.Stack, raw []byte, in string, mac []byte, mark uint32) {
	t.oneAt(st, raw, in, mac, mark, 0)
}

func (t *tracer) oneAt(st *netfilter.Stack, raw []byte, in string, mac []byte, mark uint32, when int64) {
	p := &xt.Pkt{Events: t, Mark: mark, Time: when}
	if !t.kernel {
		p.Explain = t
	}
	if err := p.Decode(raw); err != nil {
		if !t.kernel {
			fmt.Fprintf(t.w, "packet dropped before PREROUTING: %v\n", err)
		}
		return
	}
	if !t.kernel {
		var b []byte
		b = logline.Append(b, &logline.Packet{IP: p.B, Flags: logline.TCPSeq | logline.TCPOpt | logline.IPOpt})
		from := "sent by this host"
		if in != "" {
			from = "arriving on " + in
		}
		fmt.Fprintf(t.w, "packet %s, %s\n", bytes.TrimSpace(bytes.TrimPrefix(b, []byte("IN= OUT= "))), from)
		t.addrs = endpoints(p)
	}
	var o netfilter.Outcome
	if in != "" {
		o = st.Receive(p, in, mac)
	} else {
		o = st.Send(p)
	}
	if t.kernel {
		return
	}
	t.noteNAT(p)
	if ct := p.Conn; ct != nil && ct.Status()&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) != 0 {
		o, r := ct.Tuple(conntrack.Original), ct.Tuple(conntrack.Reply)
		fmt.Fprintf(t.w, "connection: original %s, reply %s\n", tupleString(o), tupleString(r))
	}
	last := netfilter.HookStep{}
	if o.NSteps > 0 {
		last = o.Steps[o.NSteps-1]
	}
	switch {
	case o.Drop != "":
		fmt.Fprintf(t.w, "verdict DROP (%s)\n", o.Drop)
	case o.Local:
		fmt.Fprintf(t.w, "verdict ACCEPT: delivered locally\n")
	case o.Sent:
		fmt.Fprintf(t.w, "verdict ACCEPT: sent out %s\n", o.OutIface)
	default:
		where := fmt.Sprintf("%s %s rule %d", last.Result.Table, last.Result.Chain, last.Result.Rule)
		if last.Result.Rule == 0 {
			where = fmt.Sprintf("%s %s policy", last.Result.Table, last.Result.Chain)
		}
		fmt.Fprintf(t.w, "verdict %s at %s (%s)\n", verdictString(o.Verdict), hookNames[last.Hook], where)
	}
	t.cur, t.hook = "", -1
}

func tupleString(u conntrack.Tuple) string {
	if u.Proto == packet.ProtoTCP || u.Proto == packet.ProtoUDP {
		return fmt.Sprintf("%s:%d -> %s:%d", addrString(u.Src), u.SrcPort, addrString(u.Dst), u.DstPort)
	}
	return addrString(u.Src) + " -> " + addrString(u.Dst)
}

func (t *tracer) runPcap(env *Env, st *netfilter.Stack, o *options) int {
	f, err := os.Open(o.pcapFile)
	if err != nil {
		return fail(env, "%v", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return fail(env, "%s: %v", o.pcapFile, err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		return fail(env, "%s: link type %v is not supported here (Ethernet only)", o.pcapFile, r.LinkType())
	}
	if st.Host.Iface(o.pcapIn) == nil {
		return fail(env, "the host has no interface %q", o.pcapIn)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) < 14 || data[12] != 0x08 || data[13] != 0x00 {
			continue
		}
		pkt := append([]byte(nil), data[14:]...)
		t.oneAt(st, pkt, o.pcapIn, data[:14], 0, ci.Timestamp.UnixNano())
	}
	return 0
}
