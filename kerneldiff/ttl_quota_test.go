package kerneldiff

import (
	"os/exec"
	"testing"
)

// TTL, quota and CHECKSUM on forwarded traffic. The TTL target sets,
// lowers (saturating at 0) and raises (saturating at 255) the TTL in
// PREROUTING, with the header checksum updated, so that the forward path
// decrements what the target left: a TTL set to 1 gets the router's time
// exceeded. quota spends each matching packet's length and, once a packet
// does not fit, matches nothing more; the inverted one matches what the
// other does not. CHECKSUM finds complete checksums and leaves them. LOG's
// TTL= and the forwarded frames, byte for byte, show the rewriting.
var ttlQuotaScenario = &Scenario{
	Name: "ttl-quota-checksum",
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
	},
}

// TestKernelTTLQuota runs ttlQuotaScenario against the kernel.
func TestKernelTTLQuota(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	kernelNAT(t, ttlQuotaScenario, quietEnds)
}
