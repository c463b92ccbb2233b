package ipset

import (
	"strings"
	"sync"
	"testing"
)

// The SET target's add and delete: timeout from the target or the set,
// counters starting at the packet, --exist, the net types' prefix.
func TestKAddKDel(t *testing.T) {
	now := int64(1e18)
	r := NewRegistry()
	r.Clock = fixedClock(&now)
	var out strings.Builder
	if _, err := r.Restore("create s hash:ip timeout 600 counters initval 0x1\n"+
		"create n hash:net initval 0x2\nadd n 10.9.0.0/24\nadd n 10.8.0.0/16\n", false, &out); err != nil {
		t.Fatal(err)
	}
	s, n := r.Get("s"), r.Get("n")
	s.KAdd(0x0a000001, 6, 0, 60, now, 0xFFFFFFFF, false, false) // set's default timeout
	s.KAdd(0x0a000002, 6, 0, 60, now, 100, true, false)
	s.KAdd(0x0a000002, 6, 0, 70, now, 200, true, false) // exists, no --exist: unchanged
	s.KAdd(0, 6, 0, 60, now, 0, true, false)            // address 0: nothing
	n.KAdd(0x0a010203, 17, 0, 60, now, 0, false, false) // under /24, the longest prefix
	list := func(set *Set) string {
		var b strings.Builder
		set.WriteList(&b, ListFlags{Mode: OutSave, Sorted: true}, true)
		return b.String()
	}
	if got, want := list(s), "create s hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 counters bucketsize 12 initval 0x00000001\n"+
		"add s 10.0.0.1 timeout 600 packets 1 bytes 60\nadd s 10.0.0.2 timeout 100 packets 1 bytes 60\n"; got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	s.KAdd(0x0a000002, 6, 0, 70, now, 200, true, true) // --exist: timeout and counters reset
	s.KDel(0x0a000001, 6, 0, now)
	s.KDel(0x0a000009, 6, 0, now) // not there: ignored
	if got, want := list(s), "create s hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 counters bucketsize 12 initval 0x00000001\n"+
		"add s 10.0.0.2 timeout 200 packets 1 bytes 70\n"; got != want {
		t.Errorf("after --exist and del: got\n%swant\n%s", got, want)
	}
	if !strings.Contains(list(n), "add n 10.1.2.0/24\n") {
		t.Errorf("hash:net add:\n%s", list(n))
	}
}

// Packets matching a set while others add to it: run with -race.
func TestKAddConcurrentWithMatch(t *testing.T) {
	r := NewRegistry()
	var out strings.Builder
	if _, err := r.Restore("create s hash:ip counters\n", false, &out); err != nil {
		t.Fatal(err)
	}
	s := r.Get("s")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				ip := uint32(0x0a000000 | (i % 500) + 1)
				if g == 0 {
					s.KAdd(ip, 6, 0, 60, 1, 0, false, false)
				} else if g == 1 && i%500 >= 250 {
					s.KDel(ip, 6, 0, 1)
				} else {
					s.MatchAt(ip, 60, 1, true)
				}
			}
		}(g)
	}
	wg.Wait()
	for i := uint32(1); i <= 250; i++ {
		if !s.Test(0x0a000000 | i) {
			t.Errorf("10.0.0.%d, added and never deleted, is not in the set", i)
		}
	}
}
