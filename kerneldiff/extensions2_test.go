package kerneldiff

import (
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// More extension scenarios (see extensions_test.go).
var moreExtensionScenarios = []*Scenario{
	{
		Name: "ext-hashlimit-http-per-minute",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --dport 80 --tcp-flags SYN,ACK,FIN,RST SYN -m hashlimit --hashlimit-name http --hashlimit-above 8/min --hashlimit-burst 8 --hashlimit-mode srcip -j LOG --log-prefix "over 8/min: "
-A FORWARD -p tcp -m tcp --dport 80 -m hashlimit --hashlimit-name httpdst --hashlimit-upto 2/sec --hashlimit-burst 3 --hashlimit-mode dstip,dstport -j LOG --log-prefix "upto: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			var ps [][]byte
			for i := 0; i < 11; i++ {
				ps = append(ps, tcpSeg(c, s, uint16(42000+i), 80, fSYN, 1, 0, 0))
			}
			Send(t, tp.C, ps...)
		},
	},
	{
		Name: "ext-time",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m time --timestart 00:00:00 --timestop 23:59:59 --weekdays Mon,Tue,Wed,Thu,Fri,Sat,Sun -j LOG --log-prefix "any-time: "
-A FORWARD -m time --datestop 2001-01-01T00:00:00 -j LOG --log-prefix "before-2001: "
-A FORWARD -m time --datestart 2020-01-01T00:00:00 -j LOG --log-prefix "since-2020: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			Send(t, tp.C, udp(tp.ClientIP, tp.ServerIP, 1, 2, 4))
		},
	},
	{
		Name: "ext-trace-user-chains",
		Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -j TRACE
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:m1 - [0:0]
-A FORWARD -p udp -j m1
-A m1 -p udp -m udp --dport 2 -j RETURN
-A m1 -j MARK --set-mark 0x1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:a - [0:0]
:b - [0:0]
-A FORWARD -p udp -j a
-A a -m mark --mark 0x1 -g b
-A a -j RETURN
-A b -p udp -m udp --dport 3 -j DROP
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			Send(t, tp.C, udp(c, s, 1, 2, 4), udp(c, s, 1, 3, 4), udp(c, s, 1, 4, 4))
		},
	},
	{
		Name: "ext-recent-options",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 1000 -m recent --set --name R --rdest
-A FORWARD -p udp -m udp --dport 1001 -m recent --rcheck --name R --rdest --rttl -j LOG --log-prefix "rttl-same: "
-A FORWARD -p udp -m udp --dport 1001 -m recent --rcheck --name R --rdest -j LOG --log-prefix "rcheck: "
-A FORWARD -p udp -m udp --dport 1002 -m recent --remove --name R --rdest -j LOG --log-prefix "removed: "
-A FORWARD -p udp -m udp --dport 1003 -m recent --rcheck --name R --rdest -j LOG --log-prefix "still-there: "
-A FORWARD -p udp -m udp --dport 1004 -m recent --update --seconds 30 --reap --name R --rdest -j LOG --log-prefix "reap: "
-A FORWARD -p udp -m udp --dport 1005 -m recent --set --name M --mask 255.255.255.0
-A FORWARD -p udp -m udp --dport 1006 -m recent --rcheck --name M --mask 255.255.255.0 -j LOG --log-prefix "masked: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := addr(tp.ClientIP), addr(tp.ServerIP)
			u := func(src uint32, dport uint16, ttl uint8) []byte {
				return withOpts(packet.Spec{Src: src, Dst: s, Proto: packet.ProtoUDP, SrcPort: 9, DstPort: dport, TTL: ttl})
			}
			Send(t, tp.C, u(c, 1000, 64), u(c, 1001, 64), u(c, 1001, 30), u(c, 1002, 64), u(c, 1003, 64), u(c, 1000, 64), u(c, 1004, 64),
				u(c, 1005, 64), u(addr(ip4s(tp, 1, 7)), 1006, 64))
		},
	},
	{
		Name: "ext-conntrack-options",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstatus SEEN_REPLY -j LOG --log-prefix "seen-reply: "
-A FORWARD -m conntrack --ctstatus ASSURED -j LOG --log-prefix "assured: "
-A FORWARD -m conntrack --ctdir REPLY -j LOG --log-prefix "dir-reply: "
-A FORWARD -m conntrack --ctproto udp --ctorigsrc 10.NET.1.0/24 --ctorigdstport 5000 -j LOG --log-prefix "orig: "
-A FORWARD -m conntrack --ctreplsrc 10.NET.2.2 --ctreplsrcport 5000 --ctrepldstport 4000 -j LOG --log-prefix "repl: "
-A FORWARD -m conntrack --ctexpire 1:29 -j LOG --log-prefix "expires-soon: "
-A FORWARD -m conntrack --ctstate NEW,ESTABLISHED -m conntrack ! --ctstate NEW -j LOG --log-prefix "established: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			Send(t, tp.C, udp(c, s, 4000, 5000, 4))
			Send(t, tp.S, udp(s, c, 5000, 4000, 4))
			// The third packet does not refresh the timeout (less than a
			// second later: __nf_ct_refresh_acct), so it sees 29 s left,
			// once at least a jiffy has passed; packets closer than that
			// fall in one jiffy or two depending on the tick's phase, which
			// nfgo cannot know.
			time.Sleep(50 * time.Millisecond)
			Send(t, tp.C, udp(c, s, 4000, 5000, 4))
		},
	},
	{
		Name: "ext-ports-and-fragments",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --sport 1:1023 --dport 50:60 -j LOG --log-prefix "udp-ranges: "
-A FORWARD -p tcp -m tcp ! --dport 0:1023 -j LOG --log-prefix "tcp-high: "
-A FORWARD -f -j LOG --log-prefix "fragment: "
-A FORWARD ! -f -p udp -j LOG --log-prefix "first-or-whole: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := addr(tp.ClientIP), addr(tp.ServerIP)
			Send(t, tp.C, udp(tp.ClientIP, tp.ServerIP, 100, 55, 4), syn(tp, tp.ClientIP, tp.ServerIP, 5, 8080),
				withOpts(packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 100, DstPort: 55, ID: 77, MF: true, PayloadLen: 16}),
				withOpts(packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, ID: 77, FragOffset: 3, PayloadLen: 8}))
		},
	},
	{
		Name: "ext-nflog-xmark-connmark-set",
		Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -j NFLOG --nflog-group 5 --nflog-prefix "nflog"
-A FORWARD -p udp -j MARK --set-xmark 0x10/0xf0
-A FORWARD -m mark --mark 0x10/0xf0 -j LOG --log-prefix "xmark: "
-A FORWARD -p udp -j CONNMARK --set-mark 0x3
-A FORWARD -m connmark --mark 0x3 -j LOG --log-prefix "connmark-set: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			Send(t, tp.C, udp(tp.ClientIP, tp.ServerIP, 1, 2, 4))
		},
	},
}

// setNomatchScenario: --return-nomatch against a hash:net set with a
// nomatch element: the kernel's ip_set_test inverts the answer, so a
// plain member does not match and a nomatch element does.
var setNomatchScenario = &Scenario{
	Name: "ext-set-nomatch",
	Sets: []string{
		"create nets hash:net",
		"add nets 10.NET.1.0/24",
		"add nets 10.NET.1.7/32 nomatch",
	},
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:chk - [0:0]
-A FORWARD -m set --match-set nets src -j LOG --log-prefix "in-nets: "
-A FORWARD -j chk
-A chk -m set --match-set nets src --return-nomatch -j LOG --log-prefix "return-nomatch: "
-A chk -m set ! --match-set nets src -j LOG --log-prefix "not-in-nets: "
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		s := tp.ServerIP
		Send(t, tp.C, udp(tp.ClientIP, s, 1, 2, 4), udp(ip4s(tp, 1, 7), s, 1, 2, 4))
	},
}
