package kerneldiff

import (
	"os/exec"
	"strings"
	"testing"
)

// CT --zone against the kernel: a UDP flow whose packets raw puts in zone
// 5 both ways (its reply ESTABLISHED), one whose reply misses the zone (a
// second entry in zone 0, the reply NEW there), one zoned by its input
// interface and one left in zone 0; `conntrack -L` shows the zones.
func TestKernelCTZone(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	sc := &Scenario{
		Name: "ct-zone",
		NAT:  true,
		Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 7000 -j CT --zone 5
-A PREROUTING -p udp -m udp --sport 7000 -j CT --zone 5
-A PREROUTING -p udp -m udp --dport 7001 -j CT --zone 5
-A PREROUTING -i r0 -p udp -m udp --dport 7002 -j CT --zone 5
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate NEW -j LOG --log-prefix "new: "
-A FORWARD -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix "established: "
COMMIT
`,
		Traffic: func(t *testing.T, tp *Topo) {
			c, s := tp.ClientIP, tp.ServerIP
			Send(t, tp.C, udp(c, s, 4000, 7000, 4))
			Send(t, tp.S, udp(s, c, 7000, 4000, 4)) // zone 5: established
			Send(t, tp.C, udp(c, s, 4001, 7001, 4))
			Send(t, tp.S, udp(s, c, 7001, 4001, 4)) // zone 0: NEW
			Send(t, tp.C, udp(c, s, 4002, 7002, 4)) // zone 5 (from r0)
			Send(t, tp.C, udp(c, s, 4002, 7003, 4)) // zone 0
		},
	}
	k, _ := kernelNAT(t, sc, quietEnds)
	if !strings.Contains(strings.Join(k.Log, "\n"), "established: ") {
		t.Errorf("the kernel saw no ESTABLISHED packet in zone 5:\n%s", strings.Join(k.Log, "\n"))
	}
}
