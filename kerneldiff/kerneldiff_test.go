package kerneldiff

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

func TestMain(m *testing.M) {
	MaybeSend()
	code := m.Run()
	PrintScoreboard(os.Stdout)
	os.Exit(code)
}

func addr(ip []byte) uint32 { return binary.BigEndian.Uint32(ip) }

func syn(tp *Topo, src, dst []byte, sport, dport uint16) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
		TCPFlags: packet.TCPSyn, Seq: 1000, DF: true, TCPOptions: []byte{2, 4, 5, 0xb4}})
}

// Traversal semantics: jump, goto, RETURN, falling off a user chain,
// policies of every table at every hook, rules without a target, counters.
var traversal = &Scenario{
	Name: "traversal",
	Rules: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp
-A FORWARD -p tcp -m tcp --dport 81
-A POSTROUTING -o r1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
:deny - [0:0]
:tail - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j deny
-A INPUT -p tcp -m tcp --dport 23 -j DROP
-A FORWARD -i r0 -o r1 -p tcp -m tcp --dport 80:89 -j web
-A FORWARD -p tcp -m tcp --dport 90 -g tail
-A FORWARD -i r0 -p tcp -m tcp --sport 5000 -j ACCEPT
-A web -p tcp -m tcp --dport 80 -j ACCEPT
-A web -p tcp -m tcp --dport 81 -j RETURN
-A web -s 10.NET.1.0/24 -p tcp -m tcp --dport 82 -j ACCEPT
-A deny -p tcp -m tcp --sport 1000:2000 -j DROP
-A tail -p tcp -m tcp --sport 7 -j ACCEPT
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s, r := tp.ClientIP, tp.ServerIP, tp.RouterIn
		Send(t, tp.C,
			syn(tp, c, s, 4000, 80), // web: ACCEPT
			syn(tp, c, s, 4000, 81), // web RETURN, falls to policy DROP
			syn(tp, c, s, 4000, 82), // web rule 3 ACCEPT
			syn(tp, c, s, 5000, 83), // web falls off, FORWARD rule 3 ACCEPT
			syn(tp, c, s, 7, 90),    // goto tail: ACCEPT
			syn(tp, c, s, 8, 90),    // goto tail, falls off: policy
			syn(tp, c, r, 1500, 22), // INPUT deny: DROP
			syn(tp, c, r, 3000, 22), // deny returns; INPUT policy ACCEPT, RST back through OUTPUT
			syn(tp, c, r, 3000, 23), // DROP
		)
	},
}

func TestKernelTraversal(t *testing.T) {
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, traversal)
	n := RunNfgo(t, tp, traversal, frames)
	if Compare(t, traversal.Name, k, n) {
		t.Logf("traversal: identical (%d frames)\n%s", len(frames), k.Save)
	}
}

func udp(src, dst []byte, sport, dport uint16, n int) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoUDP, SrcPort: sport, DstPort: dport, PayloadLen: n})
}

func ping(src, dst []byte, id, seq uint16, total int) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: id, ICMPSeq: seq, TotalLen: total})
}

// TRACE through every table, LOG lines in each table (seed article 002's
// recipe), MARK/TOS/DSCP rewriting seen by later rules and by LOG.
var traceLog = &Scenario{
	Name: "trace-and-log",
	Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -j TRACE
-A PREROUTING -p icmp -j TRACE
-A PREROUTING -p tcp -m tcp --dport 22 -j LOG --log-prefix "raw-prerouting-ssh-in: " --log-level 7
-A OUTPUT -p tcp -j TRACE
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -j LOG --log-prefix "mangle-prerouting-ssh-in: " --log-level 7
-A PREROUTING -p icmp -j MARK --set-xmark 0x2a/0xffffffff
-A PREROUTING -p udp -j TOS --set-tos 0x10/0x3f
-A FORWARD -p udp -j DSCP --set-dscp 0x0a
-A FORWARD -p udp -j LOG --log-prefix "fwd-udp: " --log-tcp-sequence
-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix "mangle-input-ssh-in: " --log-level 7
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:ssh - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix "filter-input-ssh-in: " --log-level 7 --log-tcp-options --log-ip-options
-A INPUT -p tcp -m tcp --dport 22 -j ssh
-A INPUT -p icmp -m mark --mark 0x2a -j LOG --log-prefix "marked: "
-A FORWARD -p icmp -j ACCEPT
-A ssh -p tcp -m tcp --sport 1:1023 -j DROP
-A ssh -j RETURN
-A OUTPUT -p tcp -m tcp --tcp-flags RST RST -j LOG --log-prefix "[plantegg] " --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix "security-input-ssh-in: " --log-level 7
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s, r := tp.ClientIP, tp.ServerIP, tp.RouterIn
		Send(t, tp.C,
			syn(tp, c, r, 40000, 22), // traced through raw, mangle, nat, filter (ssh chain), security; RST back traced in OUTPUT
			syn(tp, c, r, 1000, 22),  // dropped in ssh
			ping(c, r, 7, 1, 84),     // marked, logged with MARK=, echo reply from the router
			ping(c, s, 7, 2, 78),     // forwarded, traced
			udp(c, s, 5353, 53, 20),  // TOS then DSCP rewritten, logged in FORWARD
		)
	},
}

func TestKernelTraceAndLog(t *testing.T) {
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, traceLog)
	n := RunNfgo(t, tp, traceLog, frames)
	if Compare(t, traceLog.Name, k, n) {
		t.Logf("trace-and-log: identical: %d TRACE lines, %d LOG lines, counters", len(k.Trace), len(k.Log))
	}
}

// Fragments and IP options through LOG (every flag) and the -f match,
// forwarded by a router without connection tracking (so no reassembly).
var fragOpts = &Scenario{
	Name: "fragments-and-ip-options",
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -f -j LOG --log-prefix "frag: " --log-ip-options --log-tcp-options --log-tcp-sequence
-A FORWARD ! -f -p udp -j LOG --log-prefix "udp: " --log-ip-options
-A FORWARD ! -f -p tcp -j LOG --log-prefix "tcp: " --log-ip-options --log-tcp-options --log-tcp-sequence
-A FORWARD -p icmp -j LOG --log-prefix "icmp: " --log-ip-options
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s := addr(tp.ClientIP), addr(tp.ServerIP)
		nop := []byte{1, 1, 1, 1}
		Send(t, tp.C,
			// A UDP datagram in two fragments: the first carries the header.
			packet.Build(&packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 6000, PayloadLen: 16, MF: true, ID: 77}),
			packet.Build(&packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, FragOffset: 3, PayloadLen: 24, ID: 77}),
			// A TCP fragment at offset 1 (8 bytes) and a later one.
			packet.Build(&packet.Spec{Src: c, Dst: s, Proto: packet.ProtoTCP, FragOffset: 2, PayloadLen: 16, MF: true, ID: 78}),
			// IP options (NOPs, which forwarding leaves alone) on UDP, TCP, ICMP.
			packet.Build(&packet.Spec{Src: c, Dst: s, Proto: packet.ProtoUDP, SrcPort: 5001, DstPort: 6001, IPOptions: nop, PayloadLen: 3}),
			packet.Build(&packet.Spec{Src: c, Dst: s, Proto: packet.ProtoTCP, SrcPort: 5002, DstPort: 80, IPOptions: nop,
				TCPFlags: packet.TCPSyn, TCPOptions: []byte{2, 4, 5, 0xb4, 1, 3, 3, 7}}),
			packet.Build(&packet.Spec{Src: c, Dst: s, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 3, ICMPSeq: 4, IPOptions: nop, TotalLen: 60, TOS: 0xb8}),
		)
	},
}

func TestKernelFragmentsAndOptions(t *testing.T) {
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, fragOpts)
	n := RunNfgo(t, tp, fragOpts, frames)
	if Compare(t, fragOpts.Name, k, n) {
		t.Logf("fragments and IP options: identical: %d LOG lines, counters", len(k.Log))
	}
}
