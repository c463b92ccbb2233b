package kerneldiff

import (
	"os/exec"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// tcpmssScenario: TCPMSS on forwarded SYNs, the router's server side
// with an MTU of 1400. --clamp-mss-to-pmtu lowers an MSS to the path's
// (the smaller of the outgoing route's MTU and the route back's) less 40;
// --set-mss lowers to the value and never raises; a SYN without an MSS
// option gets one (at most 536), its other options moved and the packet
// longer, unless data follows the header. Each rewritten SYN leaves the
// router byte for byte as the kernel's.
var tcpmssScenario = &Scenario{
	Name: "tcpmss",
	Rules: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --dport 80 --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A FORWARD -p tcp -m tcp --dport 81 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1300
-A FORWARD -p tcp -m tcp --dport 82 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1500
-A POSTROUTING -p tcp -m tcp --tcp-flags SYN SYN -m tcpmss --mss 1360 -j LOG --log-prefix "mss-1360: " --log-tcp-options
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s := tp.ClientIP, tp.ServerIP
		syn := func(src, dst []byte, sport, dport uint16, opts []byte, n int) []byte {
			return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
				TCPFlags: fSYN, Seq: 1000, DF: true, TCPOptions: opts, PayloadLen: n})
		}
		mss1460 := []byte{2, 4, 0x05, 0xb4}
		full := []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1} // MSS, NOP, window scale, SACK permitted, NOPs
		noMSS := []byte{1, 1, 4, 2, 1, 3, 3, 7}
		Send(t, tp.C,
			syn(c, s, 41000, 80, mss1460, 0), // clamped to 1400-40
			syn(c, s, 41001, 81, full, 0),    // set to 1300
			syn(c, s, 41002, 82, mss1460, 0), // 1500 is more: left
			syn(c, s, 41003, 80, nil, 0),     // no options: MSS 536 added
			syn(c, s, 41004, 80, noMSS, 0),   // options but no MSS: added first
			syn(c, s, 41005, 81, nil, 10),    // data after the header: left
		)
		// The other way: the route back (to the server) is the 1400 one.
		Send(t, tp.S, syn(s, c, 42000, 80, []byte{2, 4, 0x23, 0x28}, 0))
	},
}

// TestKernelTCPMSS runs tcpmssScenario against the kernel.
func TestKernelTCPMSS(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	kernelNAT(t, tcpmssScenario, func(t *testing.T, tp *Topo) {
		quietEnds(t, tp)
		tp.R.MustRun(t, "ip", "link", "set", "r1", "mtu", "1400")
		tp.S.MustRun(t, "ip", "link", "set", "s0", "mtu", "1400")
	})
}
