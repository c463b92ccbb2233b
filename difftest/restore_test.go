package difftest

import "testing"

// Scenario d: iptables-restore inputs, good and bad. Each case starts from
// the same small ruleset (so that flushing and --noflush show), feeds the
// input to both sides with the given options, and compares the output, the
// exit status and then iptables-save -c.

const restoreBase = `
	iptables -N keepme
	iptables -A INPUT -s 192.0.2.1 -j keepme
	iptables -A keepme -j RETURN
	iptables -t nat -A POSTROUTING -s 10.0.0.0/8 -j ACCEPT
	iptables -t mangle -A PREROUTING -d 198.51.100.0/24 -j ACCEPT
`

var restoreCases = []struct {
	name  string
	args  []string
	input string
}{
	{"full-with-counters", []string{"-c"}, `# a comment before the first table

*filter
:INPUT DROP [10:2000]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [3:180]
:web - [0:0]
# comment inside a table
[5:300] -A INPUT -p tcp -m tcp --dport 80 -j web
[0:0] -A INPUT -i lo -j ACCEPT

-A INPUT -s 203.0.113.0/24 -j DROP
[7:700] -A web -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [1:60]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [2:120]
[2:120] -A POSTROUTING -o eth0 -j ACCEPT
COMMIT
`},
	{"counters-ignored-without-c", nil, `*filter
:INPUT ACCEPT [10:2000]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
[5:300] -A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p udp --sport 53 -j ACCEPT
COMMIT
`},
	{"set-counters-option", []string{"--counters"}, `*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 443 -c 11 2222 -j ACCEPT
-A INPUT -p tcp --dport 444 --set-counters 1 2 -j ACCEPT
COMMIT
`},
	{"noflush", []string{"-n"}, `*filter
:extra - [0:0]
-A INPUT -p tcp --dport 25 -j DROP
-I INPUT 1 -p tcp --dport 26 -j DROP
-A extra -j RETURN
COMMIT
`},
	{"noflush-long-with-delete", []string{"--noflush"}, `*filter
-D INPUT -s 192.0.2.1 -j keepme
-F keepme
-X keepme
-N fresh
-A fresh -j ACCEPT
COMMIT
`},
	{"table-option-selects", []string{"-T", "nat"}, `*filter
:INPUT DROP [0:0]
-A INPUT -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.16.0.0/12 -j ACCEPT
COMMIT
`},
	{"test-mode", []string{"-t"}, `*filter
:INPUT DROP [0:0]
-A INPUT -j DROP
COMMIT
`},
	{"verbose", []string{"-v"}, `*filter
:INPUT ACCEPT [0:0]
-A INPUT -j ACCEPT
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
COMMIT
`},
	{"raw-and-mangle", nil, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp --dport 80 -j ACCEPT
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -j ACCEPT
COMMIT
`},
	{"quoted-arguments", nil, `*filter
:INPUT ACCEPT [0:0]
:a\ b - [0:0]
-A INPUT -m comment --comment "two words" -j ACCEPT
-A INPUT -m comment --comment 'single quoted' -j ACCEPT
-A INPUT -m comment --comment "with \"escaped\" quotes" -j ACCEPT
COMMIT
`},
	{"empty-table", nil, "*filter\nCOMMIT\n"},
	{"empty-input", nil, ""},
	{"only-comments", nil, "# nothing\n\n# here\n"},
	// bad inputs
	{"missing-commit", nil, `*filter
:INPUT ACCEPT [0:0]
-A INPUT -j ACCEPT
`},
	{"missing-commit-then-table", nil, `*filter
-A INPUT -j ACCEPT
*nat
COMMIT
`},
	{"bad-rule-line", nil, `*filter
:INPUT ACCEPT [0:0]
-A INPUT -j ACCEPT
-A INPUT --bogus
COMMIT
`},
	{"bad-rule-second-table", nil, `*nat
-A POSTROUTING -j ACCEPT
COMMIT
*filter
-A INPUT -p tcp --dport 99999 -j ACCEPT
COMMIT
`},
	{"unknown-table", nil, `*nosuch
:INPUT ACCEPT [0:0]
COMMIT
`},
	{"rule-before-table", nil, `-A INPUT -j ACCEPT
*filter
COMMIT
`},
	{"commit-without-table", nil, "COMMIT\n"},
	{"bad-policy", nil, `*filter
:INPUT BOGUS [0:0]
COMMIT
`},
	{"policy-on-user-chain", nil, `*filter
:mine ACCEPT [0:0]
COMMIT
`},
	{"bad-chain-line", nil, `*filter
:INPUT
COMMIT
`},
	{"bad-counters", []string{"-c"}, `*filter
:INPUT ACCEPT [x:y]
COMMIT
`},
	{"bad-rule-counters", []string{"-c"}, `*filter
[1:2 -A INPUT -j ACCEPT
COMMIT
`},
	{"duplicate-chain", nil, `*filter
:dup - [0:0]
:dup - [0:0]
COMMIT
`},
	{"builtin-chain-as-user", nil, `*filter
:INPUT - [0:0]
COMMIT
`},
	{"jump-to-missing-chain", nil, `*filter
-A INPUT -j nowhere
COMMIT
`},
	{"unterminated-quote", nil, `*filter
-A INPUT -m comment --comment "oops -j ACCEPT
COMMIT
`},
	{"table-option-in-rule", nil, `*filter
-t nat -A POSTROUTING -j ACCEPT
COMMIT
`},
	{"kernel-refusal", nil, `*filter
-A INPUT -j ACCEPT
-A OUTPUT -i eth0 -j ACCEPT
COMMIT
`},
	{"loop", nil, `*filter
:a - [0:0]
:b - [0:0]
-A INPUT -j a
-A a -j b
-A b -j a
COMMIT
`},
	{"nat-drop", nil, `*nat
-A PREROUTING -j DROP
COMMIT
`},
	{"noflush-delete-missing", []string{"-n"}, `*filter
-D INPUT -s 203.0.113.99 -j DROP
COMMIT
`},
	{"two-tables-no-commit-between", nil, `*filter
*nat
COMMIT
`},
	{"bad-option", []string{"--bogus"}, "*filter\nCOMMIT\n"},
	{"wait-interval-without-wait", []string{"-W", "1"}, "*filter\nCOMMIT\n"},
	{"too-many-files", []string{"a", "b"}, ""},
	{"missing-file", []string{"/nonexistent/rules"}, ""},
	{"table-option-unknown", []string{"-T", "nosuch"}, "*filter\nCOMMIT\n"},
}

func TestRestore(t *testing.T) {
	requireNetns(t)
	for _, rc := range restoreCases {
		t.Run(rc.name, func(t *testing.T) {
			p := newPair(t, newScore(t, "d/"+rc.name))
			p.script(restoreBase)
			p.restore(rc.input, rc.args...)
			p.save("-c")
			p.ipt("-L", "-n", "-v", "-x", "--line-numbers")
		})
	}
}

// policyCountersBase gives every built-in policy of filter and nat
// counters, and filter a rule with counters and a user chain.
const policyCountersBase = `*filter
:INPUT ACCEPT [5:100]
:FORWARD ACCEPT [6:200]
:OUTPUT ACCEPT [7:300]
:u - [0:0]
[3:30] -A INPUT -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [1:10]
:INPUT ACCEPT [2:20]
:OUTPUT ACCEPT [3:30]
:POSTROUTING ACCEPT [4:40]
COMMIT
`

// TestPolicyCounters: what each command leaves of the built-in chains'
// policy counters. Legacy iptables commits a changed table with its
// policies counted from 0 (libiptc's COUNTER_MAP_ZEROED) and its rules'
// counters kept; a command that changes nothing (-L, -C, -S, a failing
// command, -X with no user chain, restore -n of an empty block) commits
// nothing; iptables-restore keeps the counters of the policies it sets
// with -c.
func TestPolicyCounters(t *testing.T) {
	requireNetns(t)
	type step struct {
		restore []string // restore these args with input, or
		input   string
		ipt     []string // run iptables with these
	}
	ipt := func(a ...string) step { return step{ipt: a} }
	rst := func(input string, a ...string) step { return step{restore: append([]string{}, a...), input: input} }
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"append", []step{ipt("-A", "OUTPUT", "-j", "ACCEPT")}},
		{"append-nat", []step{ipt("-t", "nat", "-A", "OUTPUT", "-j", "ACCEPT")}},
		{"delete", []step{ipt("-D", "INPUT", "1")}},
		{"delete-missing", []step{ipt("-D", "INPUT", "-s", "192.0.2.9", "-j", "DROP")}},
		{"flush-empty-chain", []step{ipt("-F", "u")}},
		{"policy-unchanged", []step{ipt("-P", "INPUT", "ACCEPT")}},
		{"new-chain-exists", []step{ipt("-N", "u")}},
		{"new-chain", []step{ipt("-N", "v")}},
		{"rename", []step{ipt("-E", "u", "v")}},
		{"delete-chains", []step{ipt("-X")}},
		{"delete-chains-none", []step{ipt("-X"), rst(policyCountersBase, "-c"), ipt("-X", "u"), ipt("-X")}},
		{"zero-user-chain", []step{ipt("-Z", "u")}},
		{"zero-rule", []step{ipt("-Z", "INPUT", "1")}},
		{"list-zero", []step{ipt("-L", "-Z", "-n")}},
		{"list", []step{ipt("-L", "-n", "-v")}},
		{"check", []step{ipt("-C", "INPUT", "-j", "ACCEPT")}},
		{"list-rules", []step{ipt("-S")}},
		{"restore-empty", []step{rst("*filter\nCOMMIT\n")}},
		{"restore-policy", []step{rst("*filter\n:INPUT DROP [1:1]\nCOMMIT\n")}},
		{"restore-policy-counters", []step{rst("*filter\n:INPUT DROP [1:1]\nCOMMIT\n", "-c")}},
		{"restore-noflush-empty", []step{rst("*filter\nCOMMIT\n", "-n")}},
		{"restore-noflush-user-chain", []step{rst("*filter\n:u - [0:0]\nCOMMIT\n", "-n")}},
		{"restore-noflush-policy", []step{rst("*filter\n:INPUT ACCEPT [9:90]\nCOMMIT\n", "-n")}},
		{"restore-noflush-policy-counters", []step{rst("*filter\n:INPUT ACCEPT [9:90]\nCOMMIT\n", "-n", "-c")}},
		{"restore-noflush-rule", []step{rst("*nat\n-A OUTPUT -j ACCEPT\nCOMMIT\n", "-n")}},
		{"restore-noflush-test", []step{rst("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", "-n", "--test")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t, newScore(t, "d/policy-counters-"+c.name))
			p.restore(policyCountersBase, "-c")
			for _, s := range c.steps {
				if s.ipt != nil {
					p.ipt(s.ipt...)
				} else {
					p.restore(s.input, s.restore...)
				}
			}
			p.save("-c")
			p.ipt("-L", "-n", "-v", "-x")
		})
	}
}
