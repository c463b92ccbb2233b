package kerneldiff

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// NOTRACK and CT --notrack in raw, the UNTRACKED and INVALID states seen
// by state and conntrack, and what is left in the connection table:
// untracked packets leave no entry, a bare FIN is INVALID and leaves
// none, a lone ACK is picked up mid-stream (nf_conntrack_tcp_loose=1) and,
// being a connection's first packet, is NEW (not ESTABLISHED, as one
// might guess: the kernel here says so). The router's own RSTs are the
// only replies its TCP entries see, and a connection whose only reply is
// a RST is deleted at once, so only the UDP entries are listed.
var notrackScenario = &Scenario{
	Name: "notrack",
	Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 5000 -j NOTRACK
-A PREROUTING -p tcp -m tcp --dport 6000 -j CT --notrack
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -j LOG --log-prefix "untracked: "
-A INPUT -m state --state UNTRACKED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "invalid: "
-A INPUT -m conntrack --ctstate NEW -j LOG --log-prefix "new: "
-A INPUT -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix "established: "
-A FORWARD -m state --state UNTRACKED -j LOG --log-prefix "fwd-untracked: "
-A FORWARD -m conntrack ! --ctstate UNTRACKED -j LOG --log-prefix "fwd-tracked: "
COMMIT
`,
}

func fin(src, dst []byte, sport, dport uint16) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
		TCPFlags: packet.TCPFin | packet.TCPAck, Seq: 5000, Ack: 7000, DF: true})
}

func ack(src, dst []byte, sport, dport uint16) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
		TCPFlags: packet.TCPAck, Seq: 5000, Ack: 7000, DF: true})
}

func TestKernelNotrack(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	tp := NewTopo(t)
	var kList string
	sc := *notrackScenario
	sc.Traffic = func(t *testing.T, tp *Topo) {
		c, s, r := tp.ClientIP, tp.ServerIP, tp.RouterIn
		Send(t, tp.C,
			udp(c, r, 40000, 5000, 8),  // NOTRACK: untracked, accepted
			udp(c, r, 40001, 5001, 8),  // NEW, an entry [UNREPLIED]
			syn(tp, c, r, 40002, 6000), // CT --notrack: untracked
			syn(tp, c, r, 40003, 6001), // NEW
			fin(c, r, 40004, 7000),     // no connection, FIN: INVALID
			ack(c, r, 40005, 7001),     // lone ACK: picked up, ESTABLISHED
			udp(c, s, 40006, 5000, 8),  // forwarded untracked
			udp(c, s, 40007, 5002, 8),  // forwarded tracked
			udp(c, r, 40000, 5000, 16), // still untracked
			syn(tp, c, r, 40003, 6001), // retransmitted SYN: same entry
		)
		var e string
		var code int
		kList, e, code = tp.R.Run("conntrack", "-L")
		if code != 0 {
			t.Fatalf("conntrack -L: %s", e)
		}
	}
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
	for _, want := range []string{"untracked: ", "invalid: ", "fwd-untracked: "} {
		if !strings.Contains(strings.Join(k.Log, "\n"), want) {
			t.Errorf("the kernel logged no %q line:\n%s", want, strings.Join(k.Log, "\n"))
		}
	}
	if strings.Contains(strings.Join(k.Log, "\n"), "established: ") {
		t.Errorf("the kernel logged a packet ESTABLISHED; this scenario has none:\n%s", strings.Join(k.Log, "\n"))
	}
	if same {
		t.Logf("notrack: identical: %d LOG lines, counters, %d conntrack entries:\n%s\n%s",
			len(k.Log), len(kl), strings.Join(k.Log, "\n"), strings.Join(kl, "\n"))
	}
}
