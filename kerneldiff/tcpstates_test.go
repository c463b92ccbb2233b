package kerneldiff

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// TCP tracking corners against the kernel: a simultaneous open (both
// sides send a SYN; the reply-direction SYN takes the entry to
// SYN_SENT2), and segments outside the window on an established
// connection (data beyond the receiver's window, an ACK for data never
// sent, a reset with a wrong sequence number: each INVALID, the entry
// left as it was), then a valid reset that closes it. Every packet's
// ctstate shows in the LOG lines, and the entries are compared at the
// end.
var tcpStates = &Scenario{
	Name: "tcp-states",
	NAT:  true,
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix "invalid: "
-A FORWARD -m conntrack --ctstate NEW -j LOG --log-prefix "new: "
-A FORWARD -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix "established: "
-A FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s := tp.ClientIP, tp.ServerIP
		// Simultaneous open.
		Send(t, tp.C, tcpSeg(c, s, 41000, 42000, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 42000, 41000, fSYN, 9000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 42000, 41000, fSYN|fACK, 9000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, s, 41000, 42000, fSYN|fACK, 1000, 9001, 0))
		Send(t, tp.C, tcpSeg(c, s, 41000, 42000, fACK, 1001, 9001, 0))
		Send(t, tp.S, tcpSeg(s, c, 42000, 41000, fPSH, 9001, 1001, 10))
		// An established connection, then segments out of the window.
		Send(t, tp.C, tcpSeg(c, s, 41001, 80, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 80, 41001, fSYN|fACK, 5000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, s, 41001, 80, fACK, 1001, 5001, 0))
		Send(t, tp.C, tcpSeg(c, s, 41001, 80, fPSH, 1001+10_000_000, 5001, 100)) // beyond the window
		Send(t, tp.S, tcpSeg(s, c, 80, 41001, fACK, 5001, 1001+500_000, 0))      // acknowledges unsent data
		Send(t, tp.C, tcpSeg(c, s, 41001, 80, fPSH, 1001, 5001, 100))            // in the window
		Send(t, tp.S, tcpSeg(s, c, 80, 41001, packet.TCPRst, 5001+3_000_000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 80, 41001, fACK, 5001, 1101, 0))
		Send(t, tp.S, tcpSeg(s, c, 80, 41001, packet.TCPRst, 5001, 0, 0))
		Send(t, tp.C, tcpSeg(c, s, 41001, 80, fPSH, 1101, 5001, 10)) // after the reset
	},
}

func TestKernelTCPStates(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	k, _ := kernelNAT(t, tcpStates, quietEnds)
	// The scenario means what it says only if the kernel saw it so:
	// three segments INVALID (beyond the window, the ACK of unsent data,
	// the reset out of the window) and the reply-direction SYN of the
	// simultaneous open not. (The data after the valid reset is
	// ESTABLISHED: the entry stays, in CLOSE, for its 10 s timeout; the
	// kernel here says so.)
	invalid := 0
	for _, l := range k.Log {
		if strings.HasPrefix(l, "invalid: ") {
			invalid++
			if strings.Contains(l, "SPT=42000") {
				t.Errorf("the kernel found the simultaneous open INVALID: %s", l)
			}
		}
	}
	if invalid != 3 {
		t.Errorf("the kernel logged %d INVALID segments, the scenario expects 3:\n%s", invalid, strings.Join(k.Log, "\n"))
	}
}
