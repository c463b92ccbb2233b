package kerneldiff

import (
	"regexp"
	"testing"

	"github.com/nfgo/nfgo/xt"
)

// Seed articles 002, 003 and 004 together: TRACE, a LOG rule with
// "-m state --state NEW -m limit" in every table the SSH SYN crosses (nat
// included: conntrack is on, so the nat chains see the first packet),
// a stateful INPUT with policy DROP, and the recent recipe dropping the
// 4th new SSH connection from one source within 60 s.
var stateful = &Scenario{
	Name: "stateful-seeds",
	Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -j TRACE
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "mangle-prerouting-ssh-in: " --log-level 7
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "mangle-input-ssh-in: " --log-level 7
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "nat-prerouting-ssh-in: " --log-level 7
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "filter-input-ssh-in: " --log-level 7
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m recent --set --name SSH --mask 255.255.255.255 --rsource
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m recent --update --seconds 60 --hitcount 4 --name SSH --mask 255.255.255.255 --rsource -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p icmp -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -m limit --limit 1/sec -j LOG --log-prefix "invalid: " --log-level 7
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i r0 -o r1 -p icmp -j ACCEPT
-A OUTPUT -m state --state NEW -j LOG --log-prefix "Connection Out: "
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "security-input-ssh-in: " --log-level 7
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s, r := tp.ClientIP, tp.ServerIP, tp.RouterIn
		Send(t, tp.C,
			syn(tp, c, r, 41001, 22), // NEW: logged in every table, recent set, accepted; RST back
			syn(tp, c, r, 41002, 22),
			syn(tp, c, r, 41003, 22),
			syn(tp, c, r, 41004, 22), // 4th within 60 s: dropped by recent
			ping(c, r, 9, 1, 84),     // NEW icmp accepted, reply NEW at OUTPUT
			ping(c, s, 9, 2, 84),     // forwarded NEW, reply ESTABLISHED
		)
	},
}

func TestKernelStatefulSeeds(t *testing.T) {
	tp := NewTopo(t)
	sc := *stateful
	var kRecent string
	sc.Traffic = func(t *testing.T, tp *Topo) {
		stateful.Traffic(t, tp)
		kRecent = tp.R.MustRun(t, "cat", "/proc/net/xt_recent/SSH")
	}
	k, frames := RunKernel(t, tp, &sc)
	n := RunNfgo(t, tp, &sc, frames)
	same := Compare(t, stateful.Name, k, n)
	// The recent list as /proc/net/xt_recent/SSH shows it (nfgo recent
	// SSH prints the same text), jiffies blanked: the kernel's count from
	// its boot, nfgo's from the capture's time.
	nRecent, _ := xt.RecentProcRead("SSH")
	if kr, nr := blankJiffies(kRecent), blankJiffies(nRecent); kr != nr || kr == "" {
		same = false
		t.Errorf("/proc/net/xt_recent/SSH differs (jiffies blanked)\nkernel:\n%s\nnfgo:\n%s", kr, nr)
	}
	if same {
		t.Logf("stateful seeds: identical: %d TRACE lines, %d LOG lines, counters, the recent list:\n%s", len(k.Trace), len(k.Log), blankJiffies(kRecent))
	}
}

var jiffiesRe = regexp.MustCompile(`\d{6,}`)

// blankJiffies replaces the jiffies values of xt_recent lines by "_".
func blankJiffies(s string) string { return jiffiesRe.ReplaceAllString(s, "_") }
