package xt

import (
	"math/bits"

	"github.com/nfgo/nfgo/internal/jhash"
)

// Kernel time for the stateful-in-time matches (limit, hashlimit, recent).
//
// The kernel measures their time in jiffies, ticks of 1/HZ s. This
// machine's kernel (Linux 6.18.44, /proc/config.gz) is built with
// CONFIG_HZ_250=y, CONFIG_HZ=250 (and NO_HZ_IDLE, which does not change
// jiffies' rate); /proc/timer_list shows jiffies around 4.29e9 a few
// minutes after boot, i.e. INITIAL_JIFFIES (2^32 - 300*HZ) plus the
// uptime in ticks. Note that `getconf CLK_TCK` (USER_HZ, 100) is not HZ.
//
// nfgo derives jiffies from the packet's time alone (p.Time, Unix ns), as
// floor(p.Time * HZ / 1e9): ticks since the Unix epoch rather than since
// boot. Only differences of jiffies matter to the matches' decisions; the
// absolute value shows in /proc/net/xt_recent's last_seen and stamps,
// and the tick boundaries fall where the epoch's do rather than where the
// host's boot put them (a kernel run and an nfgo replay of the same
// packets can round an interval differently by one tick).

// HZ is the kernel's tick rate (CONFIG_HZ). Change it only between
// rulesets: the matches derive their constants from it when they first
// see a packet.
var HZ uint64 = 250

// Jiffies is the kernel's jiffies counter at Unix time t (ns).
func Jiffies(t int64) uint64 {
	sec, ns := t/1e9, t%1e9
	if ns < 0 {
		sec, ns = sec-1, ns+1e9
	}
	return uint64(sec)*HZ + uint64(ns)*HZ/1e9
}

// msecsToJiffies is the kernel's msecs_to_jiffies for a 32-bit count of
// milliseconds: rounded up to whole ticks.
func msecsToJiffies(ms uint32) uint64 {
	return (uint64(ms)*HZ + 999) / 1000
}

// timeAfter is the kernel's time_after(a, b): a is later than b, with
// wrap-around (64-bit unsigned long).
func timeAfter(a, b uint64) bool { return int64(b-a) < 0 }

// timeAfterEq is time_after_eq(a, b).
func timeAfterEq(a, b uint64) bool { return int64(a-b) >= 0 }

// pow2Below is the kernel's POW2_BELOW32/POW2_BELOW64: the largest power
// of two not above x (1 for 0).
func pow2Below(x uint64) uint64 {
	if x == 0 {
		return 1
	}
	return 1 << (bits.Len64(x) - 1)
}

// jhash1Word is the kernel's jhash_1word(a, initval).
func jhash1Word(a, initval uint32) uint32 { return jhash.Word(a, initval) }

// Binder is implemented by matches whose kernel checkentry attaches the
// rule to state shared by name (hashlimit and recent tables). The kernel
// does this when a table is loaded, rule by rule in table order, before
// any packet; the engine should call Bind on every match, in rule order,
// when it compiles a ruleset (an error is the kernel refusing the rule).
// A match that was never bound binds itself on its first packet.
type Binder interface {
	Bind() error
}

// ResetStatefulTables forgets every named hashlimit and recent table (the
// kernel's per-namespace tables), for tests and for a replay that starts
// from a freshly booted host. Rules bound to the old tables keep them; the
// rules of a new ruleset bind to new ones.
func ResetStatefulTables() {
	ResetHashlimitTables()
	ResetRecentTables()
}
