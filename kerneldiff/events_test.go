package kerneldiff

import (
	"strings"
	"testing"
)

// A kernel event one second short of nfgo's is taken as nfgo's; any
// other difference stays.
func TestEventsWithinAJiffy(t *testing.T) {
	n := []string{
		"    [NEW] udp      17 30 src=10.1.1.2 dst=10.1.1.1 sport=4101 dport=7101 [UNREPLIED] src=10.1.1.1 dst=10.1.1.2 sport=7101 dport=4101",
		" [UPDATE] tcp      6 432000 ESTABLISHED src=10.1.1.2 dst=10.1.2.2 sport=1 dport=2 src=10.1.2.2 dst=10.1.1.2 sport=2 dport=1 [ASSURED]",
		"[DESTROY] udp      17 src=10.1.1.2 dst=10.1.1.1 sport=1 dport=2 src=10.1.1.1 dst=10.1.1.2 sport=2 dport=1",
	}
	k := []string{
		"    [NEW] udp      17 29 src=10.1.1.2 dst=10.1.1.1 sport=4101 dport=7101 [UNREPLIED] src=10.1.1.1 dst=10.1.1.2 sport=7101 dport=4101",
		" [UPDATE] tcp      6 431998 ESTABLISHED src=10.1.1.2 dst=10.1.2.2 sport=1 dport=2 src=10.1.2.2 dst=10.1.1.2 sport=2 dport=1 [ASSURED]",
		"[DESTROY] udp      17 src=10.1.1.2 dst=10.1.1.1 sport=1 dport=3 src=10.1.1.1 dst=10.1.1.2 sport=3 dport=1",
	}
	got := eventsWithinAJiffy(k, n)
	want := []string{n[0], k[1], k[2]}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := eventsWithinAJiffy(n, k); got[0] != n[0] {
		t.Errorf("nfgo one second short was taken: %q", got[0])
	}
}
