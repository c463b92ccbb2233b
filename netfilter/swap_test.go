package netfilter

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nfgo/nfgo/xt"
)

// Packets evaluated while rulesets are swapped see one ruleset or the
// other, never a mix: each ruleset sends the packet through two chains
// that agree (both ACCEPT, or both DROP); a packet that started in one
// and finished in the other would reach the mixed rule and be counted
// there. Run with -race for the concurrency half of the claim.
func TestSwapIsAtomic(t *testing.T) {
	mk := func(v string) string {
		return `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:a - [0:0]
:b - [0:0]
-A INPUT -p tcp -j a
-A INPUT -p tcp -j b
-A INPUT -p tcp -j ` + v + `
-A a -p tcp -m tcp --dport 1 -j ` + v + `
-A b -p tcp -m tcp --dport 2 -j ` + v + `
COMMIT
`
	}
	accept, drop := load(t, mk("ACCEPT")), load(t, mk("DROP"))
	eng, err := New(accept)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var seen [2]atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw := tcpSyn(0x0a000001, 0x0a000002, 1000, 3)
			for !stop.Load() {
				p := pkt(t, append([]byte(nil), raw...), "eth0")
				s := eng.Snapshot()
				r := s.Hook(xt.HookLocalIn, p)
				// The verdict comes from the INPUT rule 3 of whichever
				// snapshot the packet took.
				if r.Chain != "INPUT" || r.Rule != 3 {
					t.Errorf("decided at %s:%d", r.Chain, r.Rule)
					return
				}
				if r.Verdict == xt.VerdictAccept {
					seen[0].Add(1)
				} else {
					seen[1].Add(1)
				}
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		rs := accept
		if i%2 == 0 {
			rs = drop
		}
		if err := eng.Swap(rs); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if seen[0].Load() == 0 || seen[1].Load() == 0 {
		t.Logf("only one ruleset was seen (accept %d, drop %d): the swaps were too fast for the workers", seen[0].Load(), seen[1].Load())
	}
}

// A snapshot taken before a swap keeps deciding with the old ruleset: a
// swap publishes a new value and never changes the old one in place.
func TestSnapshotSurvivesSwap(t *testing.T) {
	rsA := load(t, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n")
	rsD := load(t, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -j DROP\nCOMMIT\n")
	eng, err := New(rsA)
	if err != nil {
		t.Fatal(err)
	}
	old := eng.Snapshot()
	if err := eng.Swap(rsD); err != nil {
		t.Fatal(err)
	}
	raw := tcpSyn(1, 2, 3, 4)
	if v := old.Hook(xt.HookLocalIn, pkt(t, append([]byte(nil), raw...), "eth0")).Verdict; v != xt.VerdictAccept {
		t.Fatalf("old snapshot now says %v", v)
	}
	if v := eng.Snapshot().Hook(xt.HookLocalIn, pkt(t, append([]byte(nil), raw...), "eth0")).Verdict; v != xt.VerdictDrop {
		t.Fatalf("new snapshot says %v", v)
	}
}
