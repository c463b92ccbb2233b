package netfilter

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/xt"
)

// A host with conntrack, as kerneldiff's RunNfgo builds one: eth0
// 10.0.0.2/24 (clients), eth1 10.1.0.1/24 (servers behind it), lo.
const (
	ctClient = 0x0a000001 // 10.0.0.1
	ctHost   = 0x0a000002 // 10.0.0.2
	ctServer = 0x0a010005 // 10.1.0.5
	ctT0     = int64(1_700_000_000) * 1e9
)

func ctHostModel() *host.Host {
	pfx := netip.MustParsePrefix
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	return host.New([]*host.Interface{
		{Index: 1, Name: "lo", MTU: 65536, Up: true, LinkType: "loopback",
			Addrs: []host.Addr{{IP: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8}}},
		{Index: 2, Name: "eth0", MAC: mac, MTU: 1500, Up: true, LinkType: "ether",
			Addrs: []host.Addr{{IP: netip.MustParseAddr("10.0.0.2"), PrefixLen: 24, Broadcast: netip.MustParseAddr("10.0.0.255")}}},
		{Index: 3, Name: "eth1", MAC: mac, MTU: 1500, Up: true, LinkType: "ether",
			Addrs: []host.Addr{{IP: netip.MustParseAddr("10.1.0.1"), PrefixLen: 24, Broadcast: netip.MustParseAddr("10.1.0.255")}}},
	}, []host.Route{
		{Dst: pfx("10.0.0.0/24"), Dev: "eth0", Type: "unicast"},
		{Dst: pfx("10.1.0.0/24"), Dev: "eth1", Type: "unicast"},
	}, true)
}

// statefulRuleset has, in filter INPUT and FORWARD (policy DROP), n rules:
// first `-m state --state RELATED,ESTABLISHED -j ACCEPT`, then n-2 rules
// the benchmark flow does not match, then one accepting NEW connections
// to port 22. With stateful false, the first rule is left out and the last
// accepts port 22 in any state (the stateless firewall of
// BenchmarkFilterInput: an established packet crosses all n rules).
func statefulRuleset(n int, stateful bool) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	for _, chain := range []string{"INPUT", "FORWARD"} {
		filler := n - 1
		if stateful {
			fmt.Fprintf(&b, "-A %s -m state --state RELATED,ESTABLISHED -j ACCEPT\n", chain)
			filler--
		}
		for i := 0; i < filler; i++ {
			fmt.Fprintf(&b, "-A %s -s 10.%d.%d.0/24 -p tcp -m tcp --dport %d -j DROP\n", chain, 100+(i>>8)&127, i&255, 1+i%1000)
		}
		if stateful {
			fmt.Fprintf(&b, "-A %s -p tcp -m tcp --dport 22 -m state --state NEW -j ACCEPT\n", chain)
		} else {
			fmt.Fprintf(&b, "-A %s -p tcp -m tcp --dport 22 -j ACCEPT\n", chain)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

func ctTCP(src, dst uint32, sport, dport uint16, flags uint8, seq, ack uint32) []byte {
	return packet.Build(&packet.Spec{Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Proto: packet.ProtoTCP,
		TCPFlags: flags, Seq: seq, Ack: ack})
}

// ctStack builds the stack with the ruleset and, when ct is set, a
// conntrack table with the kernel's default configuration.
func ctStack(t testing.TB, n int, stateful, ct bool) *Stack {
	t.Helper()
	eng, err := New(load(t, statefulRuleset(n, stateful)))
	if err != nil {
		t.Fatal(err)
	}
	h := ctHostModel()
	st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil)}
	if ct {
		st.CT = conntrack.NewTable(conntrack.DefaultConfig())
	}
	return st
}

// ctFlow is one TCP flow through the stack: to the host itself (INPUT) or
// through it (FORWARD).
type ctFlow struct {
	forward bool
	dst     uint32
	in, out string
}

func (f ctFlow) receive(st *Stack, b []byte, in string) Outcome {
	p := &xt.Pkt{Time: ctT0}
	if err := p.Decode(append([]byte(nil), b...)); err != nil {
		panic(err)
	}
	return st.Receive(p, in, nil)
}

// open runs the three-way handshake 10.0.0.1:40000 -> dst:22 (ISNs
// 1000 / 5000) and returns the client's established ACK.
func (f ctFlow) open(t testing.TB, st *Stack) []byte {
	t.Helper()
	if o := f.receive(st, ctTCP(ctClient, f.dst, 40000, 22, packet.TCPSyn, 1000, 0), "eth0"); o.Verdict != xt.VerdictAccept {
		t.Fatalf("SYN: %v", o.Verdict)
	}
	synAck := ctTCP(f.dst, ctClient, 22, 40000, packet.TCPSyn|packet.TCPAck, 5000, 1001)
	var o Outcome
	if f.forward {
		o = f.receive(st, synAck, "eth1")
	} else {
		p := &xt.Pkt{Time: ctT0}
		p.Decode(synAck)
		o = st.Send(p)
	}
	if o.Verdict != xt.VerdictAccept {
		t.Fatalf("SYN/ACK: %v", o.Verdict)
	}
	ack := ctTCP(ctClient, f.dst, 40000, 22, packet.TCPAck, 1001, 5001)
	if o := f.receive(st, ack, "eth0"); o.Verdict != xt.VerdictAccept {
		t.Fatalf("ACK: %v", o.Verdict)
	}
	return ack
}

var ctFlows = []struct {
	name string
	f    ctFlow
}{
	{"input", ctFlow{dst: ctHost}},
	{"forward", ctFlow{forward: true, dst: ctServer}},
}

// receiveLoop is the benchmarked step: the packet decoded into a fresh
// Pkt (forwarding rewrites the TTL, so the bytes are copied back first),
// then Stack.Receive; it checks the packet was accepted (and, with
// conntrack, as ESTABLISHED).
func receiveLoop(t testing.TB, st *Stack, raw, buf []byte, p *xt.Pkt, wantEst bool) {
	copy(buf, raw)
	*p = xt.Pkt{Time: ctT0}
	p.Decode(buf)
	o := st.Receive(p, "eth0", nil)
	if o.Verdict != xt.VerdictAccept || (wantEst && p.CtInfo != conntrack.Established) {
		t.Fatalf("verdict %v ctinfo %v", o.Verdict, p.CtInfo)
	}
}

// TestStatefulReceiveNoAllocs: an established packet through Stack.Receive
// with conntrack and the 100-rule stateful ruleset allocates nothing.
func TestStatefulReceiveNoAllocs(t *testing.T) {
	for _, fl := range ctFlows {
		st := ctStack(t, 100, true, true)
		raw := fl.f.open(t, st)
		buf := make([]byte, len(raw))
		var p xt.Pkt
		if n := testing.AllocsPerRun(1000, func() { receiveLoop(t, st, raw, buf, &p, true) }); n != 0 {
			t.Fatalf("%s: %.1f allocations per packet", fl.name, n)
		}
		if c := st.CT.Count(); c != 1 {
			t.Fatalf("%s: %d conntrack entries", fl.name, c)
		}
	}
}

// BenchmarkStatefulReceive: Stack.Receive (PREROUTING, conntrack, routing,
// INPUT or FORWARD and POSTROUTING) of an established TCP flow's ACK.
// stateful-100: conntrack on, 100 rules, the first
// `-m state --state RELATED,ESTABLISHED -j ACCEPT`; stateless-100: no
// conntrack, the same packet accepted by the 100th rule.
func BenchmarkStatefulReceive(b *testing.B) {
	for _, fl := range ctFlows {
		for _, stateful := range []bool{true, false} {
			name := fl.name + "/stateful-100"
			if !stateful {
				name = fl.name + "/stateless-100"
			}
			b.Run(name, func(b *testing.B) {
				st := ctStack(b, 100, stateful, stateful)
				raw := ctTCP(ctClient, fl.f.dst, 40000, 22, packet.TCPAck, 1001, 5001)
				if stateful {
					raw = fl.f.open(b, st)
				}
				buf := make([]byte, len(raw))
				var p xt.Pkt
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					receiveLoop(b, st, raw, buf, &p, stateful)
				}
			})
		}
	}
}
