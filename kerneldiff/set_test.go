package kerneldiff

import (
	"strings"
	"testing"
	"time"
)

// Seed article 000's whitelist and blocklist on packets: a hash:net
// whitelist accepting port 1234, the rest logged with "[drds_reject] "
// and rejected with icmp-host-prohibited; a hash:net blocklist (with a
// timeout) sending its sources to a logging chain; the set's counters.
// Then two-dimensional sets (hash:ip,port, hash:net,port), bitmap:port,
// and --packets-*/--bytes-* comparisons with and without
// --update-counters and inversion (the counters are updated before they
// are compared).
var setSeed = &Scenario{
	Name: "set-whitelist-blocklist",
	Sets: []string{
		"create drds_whitelist_ips hash:net",
		"add drds_whitelist_ips 10.NET.1.0/30",
		"create block_ips hash:net timeout 259200",
		"add block_ips 10.NET.1.9",
		"create srv hash:ip",
		"add srv 10.NET.2.2",
		"create svc hash:ip,port",
		"add svc 10.NET.1.1,tcp:22",
		"add svc 10.NET.1.1,udp:53",
		"create nets hash:net,port",
		"add nets 10.NET.1.0/29,tcp:80-90",
		"create low bitmap:port range 1-1024",
		"add low 80",
		"create cnt hash:ip counters",
		"add cnt 10.NET.1.20",
	},
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:drds_rule - [0:0]
:drds_whitelist - [0:0]
-A INPUT -m set --match-set cnt src --packets-gt 2 -j LOG --log-prefix "cnt-gt2: "
-A INPUT -m set --match-set cnt src ! --update-counters --bytes-lt 100 -j LOG --log-prefix "cnt-lt100: "
-A INPUT -m set ! --match-set cnt src ! --update-counters --packets-eq 6 -j LOG --log-prefix "not-cnt-eq6: "
-A INPUT -m set --match-set svc dst,dst -j LOG --log-prefix "svc: "
-A INPUT -m set ! --match-set svc dst,dst -p tcp -m tcp --dport 22 -j LOG --log-prefix "not-svc: "
-A INPUT -m set --match-set nets src,dst -j LOG --log-prefix "nets: "
-A INPUT -m set --match-set low dst -j LOG --log-prefix "low: "
-A INPUT -p tcp -m set --match-set block_ips src -j drds_rule
-A INPUT -p tcp -m tcp --dport 1234 -j drds_whitelist
-A FORWARD -m set ! --match-set srv dst -j DROP
-A FORWARD -m set --match-set srv dst -j LOG --log-prefix "to-srv: "
-A drds_rule -m set --match-set block_ips src -j LOG --log-prefix "[drds_reject] " --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options
-A drds_rule -p tcp -m set --match-set block_ips src -j REJECT --reject-with icmp-host-prohibited
-A drds_whitelist -p tcp -m set --match-set drds_whitelist_ips src -m tcp --dport 1234 -j ACCEPT
-A drds_whitelist -p tcp -m tcp --dport 1234 -j LOG --log-prefix "[drds_reject] " --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options
-A drds_whitelist -p tcp -m tcp --dport 1234 -j REJECT --reject-with icmp-host-prohibited
COMMIT
`,
	// The router's own TCP stack answers the accepted SYNs with RSTs, which
	// nfgo does not model: replies are compared in reject_test.go.
	Replies: false,
	Traffic: func(t *testing.T, tp *Topo) {
		r, s := tp.RouterIn, tp.ServerIP
		ip := func(last byte) []byte { return ip4(10, tp.N, 1, int(last)) }
		// Each source its own address (on the client's link), so that
		// ICMP rate limiting stays out of the way.
		for _, a := range []byte{2, 3, 9, 20} {
			tp.R.MustRun(t, "ip", "neigh", "replace", ip4(10, tp.N, 1, int(a)).String(), "lladdr", tp.MACc0, "dev", "r0")
		}
		Send(t, tp.C,
			syn(tp, ip(2), r, 40000, 1234),             // whitelisted: accepted (RST from the closed port)
			syn(tp, ip(3), r, 40001, 1234),             // whitelisted
			syn(tp, ip(20), r, 40002, 1234),            // not whitelisted: logged and rejected
			syn(tp, ip(9), r, 40003, 22),               // blocklisted: drds_rule logs and rejects
			ping(ip(2), s, 5, 1, 84),                   // forwarded to the server in srv: logged
			ping(ip(2), ip4(10, tp.N, 2, 7), 5, 2, 84), // not in srv: dropped
			syn(tp, ip(20), r, 40004, 22),              // svc (tcp:22) hit, not blocklisted
			udp(ip(20), r, 40005, 53, 8),               // svc udp:53 hit
			udp(ip(20), r, 40006, 22, 8),               // udp:22 is not in svc
			syn(tp, ip(3), r, 40007, 85),               // nets: src in /29, tcp port in 80-90; low misses 85
			syn(tp, ip(20), r, 40008, 80),              // src outside /29: only low matches
			syn(tp, ip(3), r, 40009, 91),               // port 91 outside nets' range
		)
	},
}

func TestKernelSets(t *testing.T) {
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, setSeed)
	n := RunNfgo(t, tp, setSeed, frames)
	if Compare(t, setSeed.Name, k, n) {
		t.Logf("sets: identical: %d LOG lines and counters:\n%s", len(k.Log), strings.Join(k.Log, "\n"))
	}
}

// hash:net,iface on packets: networks paired with the input (src) or
// output (dst) interface, a nomatch element, a wildcard name, a
// physdev: element (never matched by the set match), --return-nomatch,
// and the SET target adding the packet's network with its input device.
var setNetIface = &Scenario{
	Name: "set-net-iface",
	Sets: []string{
		"create ni hash:net,iface counters",
		"add ni 10.NET.1.0/24,r0",
		"add ni 10.NET.1.7,r0 nomatch",
		"add ni 10.NET.2.0/24,r wildcard",
		"add ni 10.NET.1.0/28,physdev:r0",
		"create learned hash:net,iface",
		"add learned 10.NET.9.0/30,x",
	},
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m set --match-set ni src,src -j LOG --log-prefix "ni-src-in: "
-A INPUT -m set --match-set ni src,dst -j LOG --log-prefix "ni-src-out: "
-A INPUT -m set --match-set ni src,src --return-nomatch -j LOG --log-prefix "ni-nomatch: "
-A INPUT -j SET --add-set learned src,src
-A FORWARD -m set --match-set ni dst,dst -j LOG --log-prefix "ni-fwd-dst: "
-A FORWARD -m set ! --match-set ni src,src -j LOG --log-prefix "ni-fwd-not-src: "
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		r, s := tp.RouterIn, tp.ServerIP
		ip := func(last byte) []byte { return ip4(10, tp.N, 1, int(last)) }
		for _, a := range []byte{2, 3, 7, 9} {
			tp.R.MustRun(t, "ip", "neigh", "replace", ip4(10, tp.N, 1, int(a)).String(), "lladdr", tp.MACc0, "dev", "r0")
		}
		Send(t, tp.C,
			udp(ip(2), r, 40000, 53, 8),   // 10.N.1.0/24 via r0
			udp(ip(7), r, 40001, 53, 8),   // the nomatch element decides
			ping(ip(3), s, 5, 1, 84),      // forwarded out of r1: the wildcard "r" matches
			ping(ip(7), s, 5, 2, 84),      // forwarded, src nomatch
			udp(ip(9), r, 40002, 9999, 8), // learned a second time
		)
	},
}

func TestKernelSetNetIface(t *testing.T) {
	compareWithSets(t, NewTopo(t), *setNetIface, 5, "hash:net,iface")
}

// Set timeouts on the packet path: the SET target adds elements with
// --timeout and with the set's default (hash:ip, bitmap:ip), and
// refreshes one with --exist (hash:ip,port); the packets of later rounds
// find them present or expired as the kernel does. The elements are added
// by packets so that both sides time them from the capture (sets created
// before the traffic would start their clocks at different moments).
// Rounds at 0, 1.4, 1.9 and 3.4 s keep every expiry 0.4 s or more from a
// packet.
var setTimeouts = &Scenario{
	Name: "set-timeouts",
	Sets: []string{
		"create t hash:ip timeout 3",
		"create b bitmap:ip range 10.NET.1.0/24 timeout 1",
		"create p hash:ip,port timeout 600 counters",
	},
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m set --match-set t src -j LOG --log-prefix "t: "
-A INPUT -m set --match-set b src -j LOG --log-prefix "b: "
-A INPUT -m set --match-set p src,dst -j LOG --log-prefix "p: "
-A INPUT -s 10.NET.1.2/32 -j SET --add-set t src --timeout 1
-A INPUT -s 10.NET.1.3/32 -j SET --add-set t src
-A INPUT -s 10.NET.1.2/32 -j SET --add-set b src
-A INPUT -s 10.NET.1.4/32 -j SET --add-set p src,dst --exist --timeout 1
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		r := tp.RouterIn
		ip := func(last byte) []byte { return ip4(10, tp.N, 1, int(last)) }
		for _, a := range []byte{2, 3, 4} {
			tp.R.MustRun(t, "ip", "neigh", "replace", ip4(10, tp.N, 1, int(a)).String(), "lladdr", tp.MACc0, "dev", "r0")
		}
		round := func(id uint16) {
			Send(t, tp.C, udp(ip(2), r, 40000+id, 53, 8), udp(ip(3), r, 40100+id, 53, 8), udp(ip(4), r, 40200+id, 53, 8))
		}
		start := time.Now()
		for i, at := range []time.Duration{0, 1400 * time.Millisecond, 1900 * time.Millisecond, 3400 * time.Millisecond} {
			time.Sleep(time.Until(start.Add(at)))
			round(uint16(i))
		}
	},
}

func TestKernelSetTimeouts(t *testing.T) {
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, setTimeouts)
	n := RunNfgo(t, tp, setTimeouts, frames)
	// Round 1: t's .3 (the default 3 s); round 2: t's .2 and .3, b's .2
	// and p's .4, all re-added in round 1; rounds 0 and 3: none.
	if len(k.Log) != 5 {
		t.Errorf("kernel gave %d LOG lines, want 5", len(k.Log))
	}
	if Compare(t, setTimeouts.Name, k, n) {
		t.Logf("set timeouts: identical: %d LOG lines and counters:\n%s", len(k.Log), strings.Join(k.Log, "\n"))
	}
}
