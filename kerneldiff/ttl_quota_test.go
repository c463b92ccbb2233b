package kerneldiff

import (
	"os/exec"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// TTL, quota, ECN and CHECKSUM on forwarded traffic. The TTL target sets,
// lowers (saturating at 0) and raises (saturating at 255) the TTL in
// PREROUTING, with the header checksum updated, so that the forward path
// decrements what the target left: a TTL set to 1 gets the router's time
// exceeded. quota spends each matching packet's length and, once a packet
// does not fit, matches nothing more; the inverted one matches what the
// other does not. ECN rewrites the IP codepoint and the TCP ECE and CWR
// flags (checksums updated), which the ecn match then sees. CHECKSUM
// finds complete checksums and leaves them. LOG's TTL= and flags and the
// forwarded frames, byte for byte, show the rewriting.
var ttlQuotaScenario = &Scenario{
	Name: "ttl-quota-ecn-checksum",
	Rules: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 5001 -j TTL --ttl-dec 5
-A PREROUTING -p udp -m udp --dport 5002 -j TTL --ttl-inc 250
-A PREROUTING -p udp -m udp --dport 5003 -j TTL --ttl-set 1
-A PREROUTING -p udp -m udp --dport 5004 -j TTL --ttl-dec 100
-A PREROUTING -p tcp -m tcp --dport 80 -j ECN --ecn-tcp-remove
-A PREROUTING -p tcp -m tcp --dport 81 -j ECN --ecn-ip-ect 3 --ecn-tcp-cwr 0
-A PREROUTING -p tcp -m tcp --dport 82 -j ECN --ecn-tcp-ece 1
-A POSTROUTING -p udp -j CHECKSUM --checksum-fill
-A POSTROUTING -p udp -j LOG --log-prefix "post: "
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 6000 -m quota --quota 300 -j LOG --log-prefix "in-quota: "
-A FORWARD -p udp -m udp --dport 6000 -m quota ! --quota 200 -j LOG --log-prefix "over-quota: "
-A FORWARD -p udp -m udp --dport 6000 -m quota --quota 1000 -j DROP
-A FORWARD -p tcp -m ecn --ecn-tcp-ece -j LOG --log-prefix "ece: "
-A FORWARD -p tcp -m ecn ! --ecn-tcp-cwr --ecn-ip-ect 3 -j LOG --log-prefix "ect3-nocwr: "
-A FORWARD -m ecn ! --ecn-ip-ect 0 -j LOG --log-prefix "ect: "
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s := tp.ClientIP, tp.ServerIP
		Send(t, tp.C,
			udp(c, s, 40001, 5001, 8),
			udp(c, s, 40002, 5002, 8),
			udp(c, s, 40003, 5003, 8), // time exceeded from the router
			udp(c, s, 40004, 5004, 8), // TTL 0: time exceeded too
			udp(c, s, 40005, 5001, 30),
		)
		// 128, 128, 128 and 29 bytes: the first two fit the 300-byte
		// quota, the third does not and empties it, so the fourth does
		// not match either, small as it is.
		Send(t, tp.C,
			udp(c, s, 41000, 6000, 100),
			udp(c, s, 41000, 6000, 100),
			udp(c, s, 41000, 6000, 100),
			udp(c, s, 41000, 6000, 1),
		)
		// ECN-setup SYNs (SYN, ECE, CWR) and one with ECT(0) set.
		ecnSyn := func(sport, dport uint16, flags uint8, tos uint8) []byte {
			return packet.Build(&packet.Spec{Src: addr(c), Dst: addr(s), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
				TCPFlags: flags, TOS: tos, Seq: 7000, DF: true})
		}
		Send(t, tp.C,
			ecnSyn(42080, 80, fSYN|0xc0, 2), // ECE and CWR removed
			ecnSyn(42081, 81, fSYN|0xc0, 0), // CE codepoint, CWR cleared
			ecnSyn(42082, 82, fSYN, 1),      // ECE set
			ecnSyn(42083, 82, fSYN|0x40, 0), // ECE already set: unchanged
		)
	},
}

// TestKernelTTLQuota runs ttlQuotaScenario against the kernel.
func TestKernelTTLQuota(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	kernelNAT(t, ttlQuotaScenario, quietEnds)
}
