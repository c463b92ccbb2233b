package kerneldiff

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/packet"
)

func be(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// NAT against the kernel: the router's kernel rewrites, the capture of
// both its links shows every packet before and after, and nfgo, fed the
// incoming frames, must send out the very bytes the kernel sent
// (addresses, ports, ICMP ids, checksums, quoted headers of ICMP errors),
// count the same rules, log the same lines and end with the same
// conntrack entries (NATed reply tuples). The router's own stack (REDIRECT
// to a local socket, OUTPUT DNAT) is checked the same way: nfgo sends its
// packets through OUTPUT and POSTROUTING and must produce the bytes that
// left the router.

func tcpSeg(src, dst []byte, sport, dport uint16, flags uint8, seq, ack uint32, n int) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
		TCPFlags: flags, Seq: seq, Ack: ack, DF: true, PayloadLen: n})
}

// icmpErr is an ICMP error from src to dst quoting q.
func icmpErr(src, dst []byte, typ, code uint8, q []byte) []byte {
	b := packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoICMP, ICMPType: typ, ICMPCode: code, TotalLen: 28 + len(q)})
	copy(b[28:], q)
	b[22], b[23] = 0, 0
	binary.BigEndian.PutUint16(b[22:], packet.Checksum16(b[20:], 0))
	return b
}

func ip4s(tp *Topo, c, d int) []byte { return ip4(10, tp.N, c, d) }

const (
	fSYN = packet.TCPSyn
	fACK = packet.TCPAck
	fPSH = packet.TCPPsh | packet.TCPAck
	fFIN = packet.TCPFin | packet.TCPAck
)

// Seed 004's port forwarding: DNAT of RouterIn:8080 to the server's port
// 80 with the SNAT back to the router's address, TRACE through raw,
// nat and filter, --ctstate DNAT and --ctorigdst/--ctorigdstport, a DNAT
// for UDP, and ICMP errors crossing both: a port unreachable quoting a
// whole UDP datagram (its checksum follows the quoted addresses) and a
// time exceeded quoting 8 bytes of TCP (its checksum cannot be touched).
// A ping to the router itself gets null bindings and is answered. DNAT to
// a shifted port range and to an address range, and SNAT at INPUT (the
// router's reset mapped back at OUTPUT and routed again).
var natDNAT = &Scenario{
	Name: "nat-dnat",
	NAT:  true,
	Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j TRACE
-A PREROUTING -p tcp -m tcp --sport 80 -j TRACE
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.NET.1.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.NET.2.2:80
-A PREROUTING -d 10.NET.1.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.NET.2.2:53
-A PREROUTING -d 10.NET.1.1/32 -p udp -m udp --dport 6000:6010 -j DNAT --to-destination 10.NET.2.2:7000-7010/6000
-A PREROUTING -d 10.NET.1.1/32 -p udp -m udp --dport 6100 -j DNAT --to-destination 10.NET.2.2-10.NET.2.9
-A INPUT -p tcp -m tcp --dport 9 -j SNAT --to-source 10.NET.1.99
-A POSTROUTING -d 10.NET.2.2/32 -p tcp -m tcp --dport 80 -j SNAT --to-source 10.NET.2.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate DNAT -j LOG --log-prefix "dnat: "
-A FORWARD -m conntrack --ctstate SNAT -j LOG --log-prefix "snat: "
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m conntrack --ctstate NEW --ctorigdst 10.NET.1.1 --ctorigdstport 8080 -j ACCEPT
-A FORWARD -p udp -m conntrack --ctstate NEW --ctorigdstport 5353 -j ACCEPT
-A FORWARD -p udp -m conntrack --ctstate DNAT -j ACCEPT
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, r, ro, s := tp.ClientIP, tp.RouterIn, tp.RouterOut, tp.ServerIP
		Send(t, tp.C, tcpSeg(c, r, 40000, 8080, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, ro, 80, 40000, fSYN|fACK, 5000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, r, 40000, 8080, fACK, 1001, 5001, 0), tcpSeg(c, r, 40000, 8080, fPSH, 1001, 5001, 10))
		Send(t, tp.S, tcpSeg(s, ro, 80, 40000, fPSH, 5001, 1011, 20))
		Send(t, tp.C, tcpSeg(c, r, 40000, 8080, fFIN, 1011, 5021, 0))
		Send(t, tp.S, tcpSeg(s, ro, 80, 40000, fFIN, 5021, 1012, 0))
		Send(t, tp.C, tcpSeg(c, r, 40000, 8080, fACK, 1012, 5022, 0))
		// UDP forwarded with DNAT only, then the server's port
		// unreachable quoting the whole datagram as it received it.
		u := udp(c, r, 40001, 5353, 12)
		Send(t, tp.C, u)
		atServer := udp(c, s, 40001, 53, 12)
		atServer[8] = 63
		binary.BigEndian.PutUint16(atServer[10:], 0)
		binary.BigEndian.PutUint16(atServer[10:], packet.Checksum16(atServer[:20], 0))
		Send(t, tp.S, icmpErr(s, c, 3, 3, atServer))
		// A second TCP connection; the server side sends a time
		// exceeded quoting 8 bytes of the SNATed SYN.
		Send(t, tp.C, tcpSeg(c, r, 40002, 8080, fSYN, 1000, 0, 0))
		q := tcpSeg(ro, s, 40002, 80, fSYN, 1000, 0, 0)[:28]
		q[2], q[3] = 0, 40
		Send(t, tp.S, icmpErr(s, ro, 11, 0, q))
		Send(t, tp.C, ping(c, r, 99, 1, 84))
		// A shifted port range (DNAT's "/base": 6005 -> 7005) and an
		// address range, chosen by the kernel's jhash of source and
		// destination, for clients at several addresses.
		Send(t, tp.C, udp(c, r, 40030, 6005, 4), udp(c, r, 40031, 6010, 4))
		for i := 0; i < 5; i++ {
			Send(t, tp.C, udp(ip4s(tp, 1, 10+i), r, 40032, 6100, 4))
		}
		// SNAT at INPUT: the router's own reset goes back through
		// OUTPUT, where the binding maps it to the real client.
		Send(t, tp.C, tcpSeg(c, r, 40040, 9, fSYN, 1000, 0, 0))
	},
}

// dnatPrepare: quiet ends, and the router's neighbours for the DNAT
// address range (all the server's MAC, whose kernel drops what is not its
// own) and the spoofed client addresses.
func dnatPrepare(t *testing.T, tp *Topo) {
	quietEnds(t, tp)
	for i := 3; i <= 9; i++ {
		tp.R.MustRun(t, "ip", "neigh", "replace", net4(ip4s(tp, 2, i)), "lladdr", tp.MACs0, "dev", "r1")
	}
	for i := 10; i < 15; i++ {
		tp.R.MustRun(t, "ip", "neigh", "replace", net4(ip4s(tp, 1, i)), "lladdr", tp.MACc0, "dev", "r0")
	}
}

// MASQUERADE (the outgoing device's address; --to-ports for UDP), SNAT
// to an address range (with and without --persistent) and NETMAP both
// ways, with the replies and an ICMP error mapped back.
var natMasq = &Scenario{
	Name: "nat-masquerade-netmap",
	NAT:  true,
	Rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.NET.3.0/24 -j NETMAP --to 10.NET.2.0/24
-A POSTROUTING -s 10.NET.1.0/24 -o r1 -p tcp -j NETMAP --to 10.NET.4.0/24
-A POSTROUTING -o r1 -p udp -m udp --dport 7101 -j SNAT --to-source 10.NET.6.1-10.NET.6.200 --persistent
-A POSTROUTING -o r1 -p udp -m udp --dport 7100:7102 -j SNAT --to-source 10.NET.6.1-10.NET.6.200
-A POSTROUTING -o r1 -p udp -j MASQUERADE --to-ports 30000
-A POSTROUTING -o r1 -p icmp -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate SNAT,DNAT -j LOG --log-prefix "nat: "
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, ro, s := tp.ClientIP, tp.RouterOut, tp.ServerIP
		Send(t, tp.C, ping(c, s, 77, 1, 84))
		Send(t, tp.S, packet.Build(&packet.Spec{Src: addr(s), Dst: addr(ro), Proto: packet.ProtoICMP, ICMPType: 0, ICMPID: 77, ICMPSeq: 1, TotalLen: 84}))
		Send(t, tp.C, udp(c, s, 40010, 7000, 5))
		Send(t, tp.S, udp(s, ro, 7000, 30000, 7))
		Send(t, tp.C, udp(c, s, 40012, 7001, 5))
		quoted := udp(ro, s, 30000, 7001, 5)
		Send(t, tp.S, icmpErr(s, ro, 3, 3, quoted))
		// An address range: the kernel's jhash of source and
		// destination picks the address (of the source only with
		// --persistent, from another source port here); the same
		// source address and port towards another port reuses its
		// mapping (find_appropriate_src).
		for i := 0; i < 4; i++ {
			Send(t, tp.C, udp(ip4s(tp, 1, 10+i), s, 40020, 7100, 3), udp(ip4s(tp, 1, 10+i), s, 40021, 7101, 3), udp(ip4s(tp, 1, 10+i), s, 40020, 7102, 3))
		}
		mapped := ip4s(tp, 3, 2)
		Send(t, tp.C, tcpSeg(c, mapped, 40011, 80, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, ip4s(tp, 4, 2), 80, 40011, fSYN|fACK, 5000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, mapped, 40011, 80, fACK, 1001, 5001, 0))
	},
}

func TestKernelNAT(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	t.Run(natDNAT.Name, func(t *testing.T) { kernelNAT(t, natDNAT, dnatPrepare) })
	t.Run(natMasq.Name, func(t *testing.T) {
		// Two of the four clients' mappings may land on one address
		// (which depends on the run's network number), with --persistent
		// (dport 7101) or without (7100): the second then clashes with
		// the first and the kernel gives it a random port. nfgo is handed
		// the same draws, read from the kernel's table in the order the
		// flows were sent, after the two its MASQUERADE --to-ports 30000
		// makes first (a one-port range: any draw gives port 30000). A
		// 7102 flow takes its source's 7100 mapping when it can
		// (find_appropriate_src): no draw.
		sc := *natMasq
		draws := []uint32{0, 0}
		traffic := sc.Traffic
		sc.Traffic = func(t *testing.T, tp *Topo) {
			traffic(t, tp)
			for i := 0; i < 4; i++ {
				mapped := map[int]int{} // dport: the reply's dport (the port it was mapped to)
				for _, l := range strings.Split(tp.R.MustRun(t, "conntrack", "-L", "-p", "udp", "-s", net4(ip4s(tp, 1, 10+i))), "\n") {
					if m := dportRe.FindAllStringSubmatch(l, -1); len(m) >= 2 {
						d, _ := strconv.Atoi(m[0][1])
						p, _ := strconv.Atoi(m[1][1])
						mapped[d] = p
					}
				}
				for _, f := range []struct{ dport, sport int }{{7100, 40020}, {7101, 40021}, {7102, 40020}} {
					p, ok := mapped[f.dport]
					if !ok || p == f.sport || (f.dport == 7102 && p == mapped[7100]) {
						continue
					}
					draws = append(draws, uint32(p-1024))
				}
			}
		}
		sc.Rand = func() uint32 {
			if len(draws) == 0 {
				return 0
			}
			d := draws[0]
			draws = draws[1:]
			return d
		}
		kernelNAT(t, &sc, quietEnds)
	})
}

// kernelNAT runs one NAT scenario; prepare (if set) runs on the topology
// first.
// afterTraffic makes sc run cmd on the router once its traffic is over,
// its output going to *out (the kernel's listing to compare with nfgo's).
func afterTraffic(sc *Scenario, out *string, cmd ...string) {
	traffic := sc.Traffic
	sc.Traffic = func(t *testing.T, tp *Topo) {
		traffic(t, tp)
		var e string
		var code int
		if *out, e, code = tp.R.Run(cmd...); code != 0 {
			t.Fatalf("%s: %s", strings.Join(cmd, " "), e)
		}
	}
}

func kernelNAT(t *testing.T, sc0 *Scenario, prepare func(t *testing.T, tp *Topo)) (kernel, nfgo Outcome) {
	tp := NewTopo(t)
	for _, x := range []struct{ ns, dev string }{{tp.C.Name, "c0"}, {tp.R.Name, "r0"}, {tp.R.Name, "r1"}, {tp.S.Name, "s0"}} {
		if err := txChecksumOff(x.ns, x.dev); err != nil {
			t.Skipf("cannot turn off tx checksum offload on %s: %v", x.dev, err)
		}
	}
	if prepare != nil {
		prepare(t, tp)
	}
	sc := *sc0
	var kList string
	afterTraffic(&sc, &kList, "conntrack", "-L")
	k, frames := RunKernel(t, tp, &sc)
	n := RunNfgo(t, tp, &sc, frames)
	same := Compare(t, sc.Name, k, n)
	var nb bytes.Buffer
	n.CT.WriteList(&nb, n.End)
	kl, nl := ctListing(kList), ctListing(nb.String())
	if strings.Join(kl, "\n") != strings.Join(nl, "\n") {
		same = false
		t.Errorf("conntrack -L differs (timeouts blanked)\nkernel:\n%s\nnfgo:\n%s", strings.Join(kl, "\n"), strings.Join(nl, "\n"))
	}
	if n.Unforwarded != 0 || n.Unmatched != 0 {
		same = false
		t.Errorf("%s: %d packets nfgo sent out that the kernel did not, %d the kernel sent that nfgo did not produce", sc.Name, n.Unforwarded, n.Unmatched)
	}
	if n.Forwarded+n.Local == 0 {
		t.Errorf("%s: no packet leaving the router was compared", sc.Name)
	}
	if same {
		t.Logf("%s: identical: %d forwarded and %d router-made packets byte for byte, %d TRACE and %d LOG lines, counters, conntrack:\n%s\n%s",
			sc.Name, n.Forwarded, n.Local, len(k.Trace), len(k.Log), strings.Join(kl, "\n"), k.Save)
	}
	return k, n
}

// quietEnds makes the client's and the server's stacks ignore the crafted
// TCP segments and ICMP errors they receive (no socket owns them): their
// resets would otherwise end each connection at its first reply.
func quietEnds(t *testing.T, tp *Topo) {
	for _, ns := range []*netns.NS{tp.C, tp.S} {
		ns.MustRun(t, "iptables-legacy", "-A", "INPUT", "-p", "tcp", "-j", "DROP")
		ns.MustRun(t, "iptables-legacy", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "destination-unreachable", "-j", "DROP")
	}
}

var dportRe = regexp.MustCompile(`dport=(\d+)`)
var idRe = regexp.MustCompile(`id=(\d+)`)

// TestKernelNATClash: many clients SNATed to one address (seed 001's
// explanation of why ports get rewritten). A second client using the
// first one's source port gets another port, picked at random by the
// kernel: nfgo is handed the same random draw (its only input taken from
// the kernel) and must then choose the same port and do everything else
// the same way. The same source towards another destination reuses its
// mapping (find_appropriate_src), another source port keeps its port, and
// ICMP echo ids clash and are remapped likewise.
func TestKernelNATClash(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	var port, id, uport uint32
	sc := &Scenario{
		Name: "nat-snat-clash",
		NAT:  true,
		Rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o r1 -p udp -j SNAT --to-source 10.NET.2.1 --random-fully
-A POSTROUTING -o r1 -j SNAT --to-source 10.NET.2.1
COMMIT
`,
	}
	sc.Traffic = func(t *testing.T, tp *Topo) {
		c, c2, ro, s := tp.ClientIP, ip4s(tp, 1, 3), tp.RouterOut, tp.ServerIP
		Send(t, tp.C, tcpSeg(c, s, 40000, 80, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, ro, 80, 40000, fSYN|fACK, 5000, 1001, 0))
		Send(t, tp.C, tcpSeg(c2, s, 40000, 80, fSYN, 3000, 0, 0))
		l := tp.R.MustRun(t, "conntrack", "-L", "-p", "tcp", "-s", net4(c2), "--sport", "40000", "--dport", "80")
		m := dportRe.FindAllStringSubmatch(l, -1)
		if len(m) < 2 {
			t.Fatalf("no NATed entry for the second client: %s", l)
		}
		p, _ := strconv.Atoi(m[1][1])
		port = uint32(p)
		Send(t, tp.S, tcpSeg(s, ro, 80, uint16(p), fSYN|fACK, 7000, 3001, 0))
		Send(t, tp.C, tcpSeg(c2, s, 40000, 81, fSYN, 3500, 0, 0))
		Send(t, tp.C, tcpSeg(c2, s, 40001, 80, fSYN, 3600, 0, 0))
		Send(t, tp.C, ping(c, s, 9, 1, 84), ping(c2, s, 9, 1, 84))
		l = tp.R.MustRun(t, "conntrack", "-L", "-p", "icmp", "-s", net4(c2))
		ids := idRe.FindAllStringSubmatch(l, -1)
		if len(ids) < 2 {
			t.Fatalf("no NATed ping entry for the second client: %s", l)
		}
		i, _ := strconv.Atoi(ids[1][1])
		id = uint32(i)
		Send(t, tp.S, packet.Build(&packet.Spec{Src: addr(s), Dst: addr(ro), Proto: packet.ProtoICMP, ICMPType: 0, ICMPID: uint16(i), ICMPSeq: 1, TotalLen: 84}))
		// --random-fully: a random port even without a clash.
		Send(t, tp.C, udp(c, s, 40000, 9000, 4))
		l = tp.R.MustRun(t, "conntrack", "-L", "-p", "udp", "-s", net4(c))
		m = dportRe.FindAllStringSubmatch(l, -1)
		if len(m) < 2 {
			t.Fatalf("no entry for the --random-fully datagram: %s", l)
		}
		u, _ := strconv.Atoi(m[1][1])
		uport = uint32(u)
	}
	draws := 0
	sc.Rand = func() uint32 {
		// nf_nat_l4proto_unique_tuple's first offset: the TCP search
		// starts at 1024, the ICMP id search at 0.
		draws++
		switch draws {
		case 1:
			return port - 1024
		case 2:
			return id
		case 3:
			return uport - 1024
		}
		t.Errorf("nfgo drew randomness a %d. time; the kernel's run needed 3 draws", draws)
		return 0
	}
	kernelNAT(t, sc, func(t *testing.T, tp *Topo) {
		quietEnds(t, tp)
		tp.R.MustRun(t, "ip", "neigh", "replace", net4(ip4s(tp, 1, 3)), "lladdr", tp.MACc0, "dev", "r0")
	})
	if port == 40000 || port < 1024 {
		t.Errorf("the kernel mapped the clashing connection to port %d", port)
	}
	if draws != 3 {
		t.Errorf("nfgo drew randomness %d times, the kernel needed 3", draws)
	}
	t.Logf("the kernel remapped the clash to port %d and echo id %d, and --random-fully port 40000 to %d", port, id, uport)
}

// REDIRECT to the router's own sockets (seed 004's 8022 -> 22, with
// nothing listening: the router's reset goes back through NAT) and seed
// 001's transparent proxy: every TCP port redirected to 15001, where a
// listener asks SO_ORIGINAL_DST for each connection's original
// destination; nfgo's nat.OriginalDst must answer the same. Also OUTPUT
// DNAT of the router's own packet to another address.
func TestKernelNATRedirect(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	sc := &Scenario{
		Name: "nat-redirect",
		NAT:  true,
		Rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i r0 -p tcp -m tcp --dport 8022 -j REDIRECT --to-ports 22
-A PREROUTING -i r0 -d 10.NET.2.2/32 -p tcp -j REDIRECT --to-ports 15001
-A OUTPUT -d 10.NET.5.5/32 -p tcp -j DNAT --to-destination 10.NET.2.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8022 -j LOG --log-prefix "redirected: "
COMMIT
`,
	}
	var proxyOut string
	sc.Traffic = func(t *testing.T, tp *Topo) {
		c, r, ro, s := tp.ClientIP, tp.RouterIn, tp.RouterOut, tp.ServerIP
		proxy := exec.Command("ip", "netns", "exec", tp.R.Name, "python3", "-c", proxyScript)
		var pout bytes.Buffer
		proxy.Stdout, proxy.Stderr = &pout, &pout
		if err := proxy.Start(); err != nil {
			t.Fatal(err)
		}
		waitListening(t, tp, 15001)
		Send(t, tp.C, tcpSeg(c, s, 40100, 8022, fSYN, 1000, 0, 0))
		_ = r
		for _, port := range []int{443, 8443} {
			_, e, code := tp.C.Run("python3", "-c", fmt.Sprintf(clientScript, net4(s), port))
			if code != 0 {
				t.Errorf("client to port %d: %s", port, e)
			}
		}
		proxy.Wait()
		proxyOut = pout.String()
		SendFromRouter(t, tp, tcpSeg(ro, ip4s(tp, 5, 5), 41000, 80, fSYN, 1000, 0, 0))
	}
	k, n := kernelNAT(t, sc, func(t *testing.T, tp *Topo) {
		// A route towards the address OUTPUT DNATs, or the router's
		// socket could not send there at all.
		tp.R.MustRun(t, "ip", "route", "add", net4(ip4s(tp, 5, 0))+"/24", "dev", "r1")
	})
	if !strings.Contains(k.Save, "[1:40] -A OUTPUT -d ") {
		t.Errorf("the kernel's OUTPUT DNAT rule did not count the router's SYN:\n%s", k.Save)
	}
	if !strings.Contains(proxyOut, ":443") || !strings.Contains(proxyOut, ":8443") {
		t.Errorf("the proxy did not learn both original ports:\n%s", proxyOut)
	}
	// nfgo's answer for each connection the proxy accepted.
	for _, l := range strings.Split(strings.TrimSpace(proxyOut), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		peer, local := netip.MustParseAddrPort(f[0]), netip.MustParseAddr(f[1])
		a, p, ok := nat.OriginalDst(n.CT, be(local), 15001, be(peer.Addr()), peer.Port(), n.End)
		got := fmt.Sprintf("%s:%d", addr4(a), p)
		if !ok || got != f[2] {
			t.Errorf("nat.OriginalDst for %s: %s (found %v), the kernel's SO_ORIGINAL_DST: %s", f[0], got, ok, f[2])
		}
	}
	t.Logf("the kernel's SO_ORIGINAL_DST answers:\n%s", proxyOut)
}

// proxyScript accepts two connections on 15001 and prints, for each, the
// peer and SO_ORIGINAL_DST.
const proxyScript = `
import socket, struct
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 15001))
l.listen(4)
for _ in range(2):
    c, peer = l.accept()
    od = c.getsockopt(socket.SOL_IP, 80, 16)
    port, ip = struct.unpack("!2xH4s8x", od)
    print("%s:%d %s %s:%d" % (peer[0], peer[1], c.getsockname()[0], socket.inet_ntoa(ip), port), flush=True)
    c.recv(100)
    c.close()
`

const clientScript = `
import socket, time
s = socket.create_connection(("%s", %d), timeout=5)
s.sendall(b"hello")
time.sleep(0.2)
s.close()
`

func waitListening(t *testing.T, tp *Topo, port int) {
	for i := 0; i < 50; i++ {
		out, _, _ := tp.R.Run("ss", "-Hltn", fmt.Sprintf("sport = :%d", port))
		if strings.TrimSpace(out) != "" {
			return
		}
		exec.Command("sleep", "0.1").Run()
	}
	t.Fatalf("nothing listens on %d in the router", port)
}

// The router's own traffic to itself, which `tcpdump -i any` records
// once, on lo, as received: seed 001's OUTPUT DNAT of an outside address
// to 127.0.0.1 (a UDP datagram and, mapped back, the port unreachable it
// draws, RELATED, over lo too), and a datagram to the router's own
// address; LOG at OUTPUT and INPUT. The packets come from the router's
// raw socket, crafted, so the replay knows them as sent (the first
// packet of a connection NATed at OUTPUT cannot be mapped back from the
// wire: nothing remembers it yet). No TRACE: the kernel's TRACE lines of
// socket-sent packets carry the socket's UID and GID, which a capture
// does not record.
func TestKernelNATLoopback(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	sc := &Scenario{
		Name: "nat-loopback",
		NAT:  true,
		Rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -d 100.69.170.27/32 -j DNAT --to-destination 127.0.0.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j LOG --log-prefix "lo-in: "
-A OUTPUT -o lo -m conntrack --ctstate DNAT -j LOG --log-prefix "lo-out-dnat: "
-A OUTPUT -o lo -j LOG --log-prefix "lo-out: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			ro := tp.RouterOut
			SendFromRouter(t, tp, udp(ro, ip4(100, 69, 170, 27), 40000, 9, 4), udp(ro, tp.RouterIn, 40001, 9, 4))
		},
	}
	k, _ := kernelNAT(t, sc, func(t *testing.T, tp *Topo) {
		tp.R.MustRun(t, "ip", "route", "add", "100.69.170.0/24", "dev", "r1")
	})
	if !strings.Contains(strings.Join(k.Log, "\n"), "lo-out-dnat: ") {
		t.Errorf("the kernel did not DNAT at OUTPUT:\n%s", strings.Join(k.Log, "\n"))
	}
}
