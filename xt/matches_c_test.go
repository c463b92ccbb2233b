package xt

import (
	"strings"
	"testing"
)

// mcBuild is buildExt without a protocol.
func mcBuild(d *Def, words ...string) (*Instance, *Ctx, error) {
	return buildExt(d, 0, words...)
}

// The expected texts are what iptables-legacy 1.8.9 prints for the same
// rules on this machine: -S (save), -L (print) and -L -n (printN).
func TestMatchesCPrint(t *testing.T) {
	tests := []struct {
		def                 *Def
		args                string
		save, print, printN string
	}{
		{&recentMatch, "--name SSH --set --rsource",
			" --set --name SSH --mask 255.255.255.255 --rsource",
			" recent: SET name: SSH side: source mask: 255.255.255.255", ""},
		{&recentMatch, "--update --seconds 60 --hitcount 4 --name SSH --rsource",
			" --update --seconds 60 --hitcount 4 --name SSH --mask 255.255.255.255 --rsource",
			" recent: UPDATE seconds: 60 hit_count: 4 name: SSH side: source mask: 255.255.255.255", ""},
		{&recentMatch, "! --rcheck --seconds 5 --reap --rttl --name x --rdest --mask 255.255.0.0",
			" ! --rcheck --seconds 5 --reap --rttl --name x --mask 255.255.0.0 --rdest",
			" ! recent: CHECK seconds: 5 reap TTL-Match name: x side: dest mask: 255.255.0.0", ""},
		{&connlimitMatch, "--connlimit-above 3",
			" --connlimit-above 3 --connlimit-mask 32 --connlimit-saddr", " #conn src/32 > 3", ""},
		{&connlimitMatch, "! --connlimit-above 3 --connlimit-mask 24 --connlimit-daddr",
			" --connlimit-upto 3 --connlimit-mask 24 --connlimit-daddr", " #conn dst/24 <= 3", ""},
		{&connlimitMatch, "--connlimit-upto 3 --connlimit-mask 255.0.255.0",
			" --connlimit-upto 3 --connlimit-mask 32 --connlimit-saddr", " #conn src/32 <= 3", ""},
		{&limitMatch, "--limit 1/sec", " --limit 1/sec", " limit: avg 1/sec burst 5", ""},
		{&limitMatch, "", " --limit 3/hour", " limit: avg 3/hour burst 5", ""},
		{&limitMatch, "--limit 7/m --limit-burst 10000", " --limit 7/min --limit-burst 10000",
			" limit: avg 7/min burst 10000", ""},
		{&limitMatch, "--limit 5000/d", " --limit 5000/day", " limit: avg 5000/day burst 5", ""},
		{&stateMatch, "--state RELATED,ESTABLISHED", " --state RELATED,ESTABLISHED",
			" state RELATED,ESTABLISHED", ""},
		{&stateMatch, "! --state N,rel", " ! --state NEW,RELATED", " ! state NEW,RELATED", ""},
		{&conntrackMatch, "--ctstate INVALID", " --ctstate INVALID", " ctstate INVALID", ""},
		{&conntrackMatch, "--ctstate SNAT,DNAT,UNTRACKED,INVALID", " --ctstate INVALID,UNTRACKED,SNAT,DNAT",
			" ctstate INVALID,UNTRACKED,SNAT,DNAT", ""},
		{&conntrackMatch, "! --ctstate N,e --ctstatus none,CONF ! --ctorigsrc 10.1.2.3/8 --ctrepldst 1.2/255.0.255.0 --ctdir reply ! --ctexpire 3:4 --ctreplsrcport 5:6",
			" ! --ctstate NEW,ESTABLISHED ! --ctorigsrc 10.1.2.3/8 --ctrepldst 1.0.0.2 --ctreplsrcport 5:6 --ctstatus CONFIRMED ! --ctexpire 3:4 --ctdir REPLY",
			" ! ctstate NEW,ESTABLISHED ! ctorigsrc 10.1.2.3/8 ctrepldst 1.0.0.2 ctreplsrcport 5:6 ctstatus CONFIRMED ! ctexpire 3:4 ctdir REPLY", ""},
		{&conntrackMatch, "--ctstatus NONE,ASSURED --ctorigdst 0.0.0.0/0",
			" --ctorigdst 0.0.0.0/0 --ctstatus ASSURED", " ctorigdst anywhere ctstatus ASSURED",
			" ctorigdst 0.0.0.0/0 ctstatus ASSURED"},
		{&conntrackMatch, "--ctorigsrcport 70000", " --ctorigsrcport 4464", " ctorigsrcport 4464", ""},
		{&conntrackMatch, "--ctexpire 5:", " --ctexpire 5:4294967295", " ctexpire 5:4294967295", ""},
		{&connmarkMatch, "! --mark 5/0xff", " ! --mark 0x5/0xff", " connmark match ! 0x5/0xff", ""},
		{&hashlimitMatch, "--hashlimit-upto 1/sec --hashlimit-name a",
			" --hashlimit-upto 1/sec --hashlimit-burst 5 --hashlimit-name a", " limit: up to 1/sec burst 5", ""},
		{&hashlimitMatch, "! --hashlimit-above 2/sec --hashlimit-name a --hashlimit-mode srcip,dstport,srcport,dstip --hashlimit-srcmask 24 --hashlimit-dstmask 255.255.0.0",
			" --hashlimit-upto 2/sec --hashlimit-burst 5 --hashlimit-mode srcip,srcport,dstip,dstport --hashlimit-name a --hashlimit-srcmask 24 --hashlimit-dstmask 16",
			" limit: up to 2/sec burst 5 mode srcip-srcport-dstip-dstport srcmask 24 dstmask 16", ""},
		{&hashlimitMatch, "--hashlimit-upto 1kb/s --hashlimit-name mini1 --hashlimit-burst 10kb",
			" --hashlimit-upto 1kb/s --hashlimit-burst 10kb --hashlimit-name mini1", " limit: up to 1kb/s burst 10kb", ""},
		{&hashlimitMatch, "--hashlimit-upto 5000mb/s --hashlimit-name mini1",
			" --hashlimit-upto 5286113568b/s --hashlimit-name mini1", " limit: up to 5286113568b/s", ""},
		{&hashlimitMatch, "--hashlimit-upto 40/min --hashlimit-name r --hashlimit-rate-match",
			" --hashlimit-upto 40/sec --hashlimit-burst 5 --hashlimit-name r --hashlimit-htable-expire 60000 --hashlimit-rate-match --hashlimit-rate-interval 60",
			" limit: up to 40/min burst 5 rate-match rate-interval 60", ""},
		{&hashlimitMatch, "--hashlimit-upto 40/min --hashlimit-name r --hashlimit-rate-match --hashlimit-rate-interval 1",
			" --hashlimit-upto 40/sec --hashlimit-burst 5 --hashlimit-name r --hashlimit-htable-expire 60000 --hashlimit-rate-match",
			" limit: up to 40/sec burst 5 htable-expire 60000 rate-match", ""},
		{&hashlimitMatch, "--hashlimit-upto 3kb/s --hashlimit-name r --hashlimit-rate-match",
			" --hashlimit-upto 3kb/s --hashlimit-name r --hashlimit-rate-match", " limit: up to 3kb/s rate-match", ""},
	}
	for _, tc := range tests {
		in, c, err := mcBuild(tc.def, strings.Fields(tc.args)...)
		if err != nil {
			t.Errorf("-m %s %s: %v", tc.def.Name, tc.args, err)
			continue
		}
		var s, p, pn strings.Builder
		in.Ext.Save(&s, c)
		in.Ext.Print(&p, c, false)
		in.Ext.Print(&pn, c, true)
		if tc.printN == "" {
			tc.printN = tc.print
		}
		if s.String() != tc.save || p.String() != tc.print || pn.String() != tc.printN {
			t.Errorf("-m %s %s:\n save  %q want %q\n print %q want %q\n -n    %q want %q",
				tc.def.Name, tc.args, s.String(), tc.save, p.String(), tc.print, pn.String(), tc.printN)
		}
	}
}

func TestMatchesCErrors(t *testing.T) {
	tests := []struct {
		def  *Def
		args string
		msg  string
	}{
		{&stateMatch, "", "state: option \"--state\" must be specified\n"},
		{&stateMatch, "--state NEW,", "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED"},
		{&conntrackMatch, "", "conntrack: At least one option is required"},
		{&conntrackMatch, "--ctstate NEW,", "Bad ctstate \"\""},
		{&conntrackMatch, "--ctstate ,NEW", "Bad ctstate \",NEW\""},
		{&conntrackMatch, "--ctdir bogus", "conntrack: Bad value for \"--ctdir\" option: \"bogus\""},
		{&conntrackMatch, "--ctorigsrcport 0x10", "Port \"0x10\" does not resolve to anything.\n"},
		{&conntrackMatch, "--ctorigsrcport 1:2:3", "conntrack: Too many components for option \"--ctorigsrcport\" (max: 2)\n"},
		{&conntrackMatch, "--ctexpire 42949672956", "conntrack: bad value for option \"--ctexpire\" near \"42949672956\", or out of range (0-4294967295).\n"},
		{&connmarkMatch, "--mark 5x", "connmark: trailing garbage after value for option \"--mark\".\n"},
		{&connmarkMatch, "--mark abc", "connmark: bad integer value for option \"--mark\", or out of range.\n"},
		{&recentMatch, "--reap", "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'"},
		{&recentMatch, "--set --reap", "recent: option \"--reap\" also requires \"--seconds\".\n"},
		{&recentMatch, "--rttl --set", "recent: option \"--rttl\" cannot be used together with \"--set\".\n"},
		{&recentMatch, "--set --update", "recent: option \"--set\" cannot be used together with \"--update\".\n"},
		{&recentMatch, "--rcheck --seconds 0", "recent: bad value for option \"--seconds\", or out of range (1-4294967295).\n"},
		{&limitMatch, "--limit 10001/sec", "Rate too fast \"10001/sec\""},
		{&limitMatch, "--limit 1/x", "bad rate \"1/x\"'"},
		{&hashlimitMatch, "", "You have to specify --hashlimit"},
		{&hashlimitMatch, "--hashlimit-upto 1/sec", "hashlimit: option \"--hashlimit-name\" must be specified\n"},
		{&hashlimitMatch, "--hashlimit 1/sec --hashlimit-upto 2/sec --hashlimit-name a", "hashlimit: option \"--hashlimit-upto\" can only be used once.\n"},
		{&hashlimitMatch, "--hashlimit 1/sec --hashlimit-above 2/sec --hashlimit-name a", "hashlimit: option \"--hashlimit-upto\" cannot be used together with \"--hashlimit-above\".\n"},
		{&hashlimitMatch, "--hashlimit-upto 2/min --hashlimit-name a --hashlimit-mode foo", "hashlimit: Bad value for \"--hashlimit-mode\" option: \"foo\""},
		{&hashlimitMatch, "--hashlimit-upto 1/sec --hashlimit-burst 1m --hashlimit-name a", "bad value for option \"--hashlimit-burst\", or out of range (1-1000000)."},
		{&hashlimitMatch, "--hashlimit-upto 96b/s --hashlimit-burst 5 --hashlimit-name mini1", "burst cannot be smaller than 96b"},
		{&connlimitMatch, "--connlimit-saddr", "You must specify \"--connlimit-above\" or \"--connlimit-upto\"."},
		{&connlimitMatch, "--connlimit-upto 1 --connlimit-above 1", "connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".\n"},
		{&setMatch, "--match-set foo", "--match-set requires two args."},
		{&setMatch, "--return-nomatch", "You must specify `--match-set' with proper arguments"},
		{&setMatch, "--match-set aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa src", "setname `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' too long, max 31 characters."},
	}
	for _, tc := range tests {
		_, _, err := mcBuild(tc.def, strings.Fields(tc.args)...)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("-m %s %s: got %v, want %q", tc.def.Name, tc.args, err, tc.msg)
		}
	}
}

// Kernel checkentry refusals seen with iptables-legacy on this machine.
func TestMatchesCCheck(t *testing.T) {
	tests := []struct {
		def   *Def
		args  string
		errno string // "" accepted
	}{
		{&limitMatch, "--limit 3/s --limit-burst 0", "Numerical result out of range"},
		{&limitMatch, "--limit 1/day --limit-burst 10000", "Numerical result out of range"},
		{&limitMatch, "--limit 1/hour --limit-burst 10000", ""},
		{&recentMatch, "--rcheck --hitcount 65535", ""},
		{&recentMatch, "--rcheck --hitcount 65536", "Invalid argument"},
		{&recentMatch, "--set --seconds 5", "Invalid argument"},
		{&recentMatch, "--set --name a/b", "Invalid argument"},
		{&hashlimitMatch, "--hashlimit-upto 2/min --hashlimit-name a --hashlimit-htable-expire 0", "Invalid argument"},
		{&hashlimitMatch, "--hashlimit-upto 3/s --hashlimit-name r --hashlimit-srcmask 33", "Invalid argument"},
		{&hashlimitMatch, "--hashlimit-upto 50000mb/s --hashlimit-name mini1", "Invalid argument"},
		{&hashlimitMatch, "--hashlimit-upto 1/day --hashlimit-burst 100000 --hashlimit-name a", "Numerical result out of range"},
		{&hashlimitMatch, "--hashlimit-upto 1/sec --hashlimit-burst 1000000 --hashlimit-name a", ""},
	}
	for _, tc := range tests {
		in, c, err := mcBuild(tc.def, strings.Fields(tc.args)...)
		if err != nil {
			t.Errorf("-m %s %s: %v", tc.def.Name, tc.args, err)
			continue
		}
		err = in.Ext.(Checker).Check(c)
		got := ""
		if ke, ok := err.(*KernelError); ok {
			got = ke.Errno
		} else if err != nil {
			got = err.Error()
		}
		if got != tc.errno {
			t.Errorf("-m %s %s: got %q, want %q", tc.def.Name, tc.args, got, tc.errno)
		}
	}
}
