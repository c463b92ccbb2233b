package kerneldiff

import (
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// One scenario per group of extensions, each real traffic through the
// router's kernel, replayed from its tcpdump -i any capture: LOG lines
// (the LOG rules show what matched), TRACE where useful, counters.

func withOpts(s packet.Spec) []byte { return packet.Build(&s) }

var extensionScenarios = []*Scenario{
	{
		Name: "ext-multiport-iprange-comment",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m multiport --dports 80,443,8000:8010 -m comment --comment "web ports" -j LOG --log-prefix "mp-dports: "
-A FORWARD -p udp -m multiport --ports 53,123 -j LOG --log-prefix "mp-ports: "
-A FORWARD -p tcp -m multiport ! --sports 1000:2000 -j LOG --log-prefix "mp-not-sports: "
-A FORWARD -m iprange --src-range 10.NET.1.2-10.NET.1.5 --dst-range 10.NET.2.0-10.NET.2.2 -j LOG --log-prefix "iprange: "
-A FORWARD -m iprange ! --src-range 10.NET.1.3-10.NET.1.200 -j LOG --log-prefix "not-iprange: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			Send(t, tp.C, syn(tp, c, s, 1500, 80), syn(tp, c, s, 3000, 8005), syn(tp, c, s, 3000, 22),
				udp(c, s, 5000, 123, 4), udp(c, s, 53, 9999, 4))
		},
	},
	{
		Name: "ext-mac-pkttype-addrtype",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m mac --mac-source 02:00:00:00:0c:00 -j LOG --log-prefix "mac: "
-A INPUT -m mac ! --mac-source 02:00:00:00:0c:00 -j LOG --log-prefix "not-mac: "
-A INPUT -m pkttype --pkt-type broadcast -j LOG --log-prefix "broadcast: "
-A INPUT -m pkttype --pkt-type unicast -j LOG --log-prefix "unicast: "
-A INPUT -m addrtype --dst-type LOCAL -j LOG --log-prefix "dst-local: "
-A INPUT -m addrtype --dst-type BROADCAST -j LOG --log-prefix "dst-broadcast: "
-A FORWARD -m addrtype --dst-type UNICAST --src-type UNICAST -j LOG --log-prefix "fwd-unicast: "
-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j LOG --log-prefix "local-on-iface: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, r, s := tp.ClientIP, tp.RouterIn, tp.ServerIP
			Send(t, tp.C, udp(c, r, 4000, 5000, 4), udp(c, tp.RouterOut, 4001, 5000, 4), udp(c, s, 4002, 5000, 4))
			Send(t, tp.C, udp(c, ip4s(tp, 1, 255), 4003, 5000, 4))
		},
	},
	{
		Name: "ext-length-ttl-tos-dscp",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m length --length 0:60 -j LOG --log-prefix "short: "
-A FORWARD -m length --length 100:65535 -j LOG --log-prefix "long: "
-A FORWARD -m ttl --ttl-lt 10 -j LOG --log-prefix "ttl-lt-10: "
-A FORWARD -m ttl --ttl-eq 63 -j LOG --log-prefix "ttl-eq-63: "
-A FORWARD -m tos --tos Minimize-Delay -j LOG --log-prefix "tos-lowdelay: "
-A FORWARD -m dscp --dscp 0x2e -j LOG --log-prefix "dscp-ef: "
-A FORWARD -m dscp ! --dscp 0 -j LOG --log-prefix "dscp-not-0: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := addr(tp.ClientIP), addr(tp.ServerIP)
			Send(t, tp.C,
				withOpts(packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, PayloadLen: 4}),
				withOpts(packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, PayloadLen: 200, TTL: 5}),
				withOpts(packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, TOS: 0x10}),
				withOpts(packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, TOS: 0xb8}))
		},
	},
	{
		Name: "ext-mark-connmark-tos-dscp-targets",
		Rules: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 7000 -j MARK --set-mark 0x7
-A PREROUTING -m mark --mark 0x7 -j CONNMARK --save-mark
-A PREROUTING -m connmark --mark 0x7 -j LOG --log-prefix "connmark-7: "
-A PREROUTING -p udp -m udp --sport 7000 -j CONNMARK --restore-mark
-A PREROUTING -m mark --mark 0x7/0xf -j LOG --log-prefix "restored-mark: "
-A FORWARD -p udp -m udp --dport 7000 -j TOS --set-tos 0x10
-A FORWARD -p udp -m udp --dport 7001 -j DSCP --set-dscp-class EF
-A POSTROUTING -p udp -j LOG --log-prefix "post: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			Send(t, tp.C, udp(c, s, 4000, 7000, 4), udp(c, s, 4001, 7001, 4))
			Send(t, tp.S, udp(s, c, 7000, 4000, 4))
		},
	},
	{
		Name: "ext-string-tcpmss-tcpflags",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m string --string "GET /admin" --algo bm -j LOG --log-prefix "admin: "
-A FORWARD -p tcp -m string --string "zzz" --algo kmp --from 40 --to 60 -j LOG --log-prefix "zzz: "
-A FORWARD -p tcp -m tcpmss --mss 1000:1460 -j LOG --log-prefix "mss: "
-A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK,FIN,RST SYN -j LOG --log-prefix "syn-only: "
-A FORWARD -p tcp -m tcp --tcp-option 2 -j LOG --log-prefix "has-mss-option: "
-A FORWARD -p tcp -m tcp ! --syn -j LOG --log-prefix "not-syn: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			data := tcpSeg(c, s, 40000, 80, fPSH, 1, 1, 30)
			copy(data[40:], "GET /admin HTTP/1.0\r\n")
			fixTCP(data)
			z := tcpSeg(c, s, 40001, 80, fPSH, 1, 1, 30)
			copy(z[48:], "zzz")
			fixTCP(z)
			Send(t, tp.C, syn(tp, c, s, 40002, 80), data, z)
		},
	},
	{
		Name: "ext-statistic-limit",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m statistic --mode nth --every 3 --packet 1 -j LOG --log-prefix "nth: "
-A FORWARD -p udp -m limit --limit 2/sec --limit-burst 3 -j LOG --log-prefix "limited: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			var ps [][]byte
			for i := 0; i < 8; i++ {
				ps = append(ps, udp(c, s, uint16(4000+i), 9000, 4))
			}
			Send(t, tp.C, ps...)
		},
	},
	{
		Name: "ext-icmp-types",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p icmp -m icmp --icmp-type echo-request -j LOG --log-prefix "echo: "
-A FORWARD -p icmp -m icmp --icmp-type port-unreachable -j LOG --log-prefix "port-unreach: "
-A FORWARD -p icmp -m icmp --icmp-type destination-unreachable -j LOG --log-prefix "unreach: "
-A FORWARD -p icmp -m icmp ! --icmp-type 8 -j LOG --log-prefix "not-echo: "
-A FORWARD -p icmp -m conntrack --ctstate RELATED -j LOG --log-prefix "related: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			u := udp(c, s, 4000, 9, 4)
			Send(t, tp.C, ping(c, s, 5, 1, 60), u)
			u[8] = 63
			u[10], u[11] = 0, 0
			copy(u[10:], []byte{byte(ipChecksum(u[:20]) >> 8), byte(ipChecksum(u[:20]))})
			Send(t, tp.S, icmpErr(s, c, 3, 3, u), icmpErr(s, c, 3, 1, u))
		},
	},
	{
		Name: "ext-seed004-state-policy-drop",
		Rules: `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -j LOG --log-prefix "new ssh: "
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -j ACCEPT
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m state --state NEW -j LOG --log-prefix "new fwd: "
-A FORWARD -p tcp -m tcp --dport 80 -m state --state NEW -j ACCEPT
-A FORWARD -m conntrack --ctstate INVALID -m limit --limit 1/sec -j LOG --log-prefix "invalid: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, r, s := tp.ClientIP, tp.RouterIn, tp.ServerIP
			Send(t, tp.C, tcpSeg(c, s, 40000, 80, fSYN, 1000, 0, 0))
			Send(t, tp.S, tcpSeg(s, c, 80, 40000, fSYN|fACK, 5000, 1001, 0))
			Send(t, tp.C, tcpSeg(c, s, 40000, 80, fACK, 1001, 5001, 0), tcpSeg(c, s, 40001, 81, fSYN, 1000, 0, 0),
				tcpSeg(c, s, 40009, 80, fFIN, 7, 7, 0), syn(tp, c, r, 40002, 22))
		},
	},
	{
		Name: "ext-seed003-port-knocking",
		Rules: `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -m length --length 78 -j LOG --log-prefix "SSHOPEN: "
-A INPUT -p icmp -m icmp --icmp-type 8 -m length --length 78 -m recent --set --name sshopen --rsource -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --seconds 15 --name sshopen --rsource -j LOG --log-prefix "knocked: "
-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --seconds 15 --name sshopen --rsource -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix "not knocked: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, r := tp.ClientIP, tp.RouterIn
			Send(t, tp.C, syn(tp, c, r, 41000, 22), ping(c, r, 3, 1, 60), syn(tp, c, r, 41001, 22), ping(c, r, 3, 2, 78), syn(tp, c, r, 41002, 22))
		},
	},
	{
		Name: "ext-bitmap-ip-set",
		Sets: []string{
			"create lan bitmap:ip range 10.NET.1.0/24",
			"add lan 10.NET.1.2",
			"create seen bitmap:ip range 10.NET.2.0-10.NET.2.255 timeout 600",
		},
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m set --match-set lan src -j LOG --log-prefix "from-lan: "
-A FORWARD -m set ! --match-set lan src -j LOG --log-prefix "not-lan: "
-A FORWARD -m set --match-set seen dst -j LOG --log-prefix "seen-before: "
-A FORWARD -j SET --add-set seen dst
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			Send(t, tp.C, udp(c, s, 1, 2, 4), udp(c, s, 1, 3, 4), udp(ip4s(tp, 1, 7), s, 1, 4, 4))
		},
	},
}

// fixTCP recomputes a crafted TCP segment's checksum after its payload
// was filled in.
func fixTCP(b []byte) {
	hl := int(b[0]&0x0F) * 4
	seg := b[hl:]
	seg[16], seg[17] = 0, 0
	src, dst := addr(b[12:16]), addr(b[16:20])
	init := src>>16 + src&0xFFFF + dst>>16 + dst&0xFFFF + 6 + uint32(len(seg))
	c := packet.Checksum16(seg, init)
	seg[16], seg[17] = byte(c>>8), byte(c)
}

// loudEnds: scenarios whose ends must send their own ICMP errors.
var loudEnds = map[string]bool{"ext-icmp-types": true}

func TestKernelExtensions(t *testing.T) {
	for _, sc := range append(append(append([]*Scenario{}, extensionScenarios...), moreExtensionScenarios...), setNomatchScenario) {
		t.Run(sc.Name, func(t *testing.T) {
			tp := NewTopo(t)
			tp.R.MustRun(t, "ip", "neigh", "replace", net4(ip4s(tp, 1, 7)), "lladdr", tp.MACc0, "dev", "r0")
			if !loudEnds[sc.Name] {
				quietEnds(t, tp)
			}
			k, frames := RunKernel(t, tp, sc)
			n := RunNfgo(t, tp, sc, frames)
			if Compare(t, sc.Name, k, n) {
				t.Logf("%s: identical: %d LOG lines, counters\n%s", sc.Name, len(k.Log), joinLines(k.Log))
			}
			if len(k.Log)+len(k.Trace) == 0 {
				t.Errorf("%s: the kernel logged nothing: the scenario tests nothing", sc.Name)
			}
		})
	}
}

func joinLines(l []string) string {
	s := ""
	for _, x := range l {
		s += x + "\n"
	}
	return s
}
