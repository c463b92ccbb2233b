package xt

import (
	"strings"
	"testing"
)

// parseTargetA is buildExt for a target without a protocol.
func parseTargetA(t *testing.T, d *Def, args []string) (*Instance, error) {
	t.Helper()
	in, _, err := buildExt(d, 0, args...)
	return in, err
}

// The expected texts are what iptables-legacy 1.8.9 prints for the same
// rules (iptables -L, -L -n, -S), checked in a network namespace.
func TestTargetsAPrint(t *testing.T) {
	tests := []struct {
		def   *Def
		args  []string
		print string // -L
		num   string // -L -n ("" = same as print)
		save  string // -S, after "-j NAME"
	}{
		{&logTarget, []string{"--log-prefix", "[plantegg] ", "--log-level", "7", "--log-tcp-sequence", "--log-tcp-options", "--log-ip-options"},
			` LOG level debug tcp-sequence tcp-options ip-options prefix "[plantegg] "`,
			` LOG flags 7 level 7 prefix "[plantegg] "`,
			` --log-prefix "[plantegg] " --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options`},
		{&logTarget, nil, " LOG level warn", " LOG flags 0 level 4", ""},
		{&logTarget, []string{"--log-level", "alert", "--log-uid", "--log-macdecode"},
			" LOG level alert uid macdecode", " LOG flags 40 level 1", " --log-level 1 --log-uid --log-macdecode"},
		{&logTarget, []string{"--log-level", "error"}, " LOG level err", " LOG flags 0 level 3", " --log-level 3"},
		{&logTarget, []string{"--log-level", "0"}, " LOG level emerg", " LOG flags 0 level 0", " --log-level 0"},
		{&logTarget, []string{"--log-level", "2", "--log-prefix", `a"b\c'd`},
			` LOG level crit prefix "a"b\c'd"`, ` LOG flags 0 level 2 prefix "a"b\c'd"`, ` --log-prefix "a\"b\\c\'d" --log-level 2`},
		{&logTarget, []string{"--log-prefix", "0123456789012345678901234567890123456789"},
			` LOG level warn prefix "01234567890123456789012345678"`, ` LOG flags 0 level 4 prefix "01234567890123456789012345678"`, ` --log-prefix 01234567890123456789012345678`},
		{&rejectTarget, []string{"--reject-with", "icmp-host-prohibited"}, " reject-with icmp-host-prohibited", "", " --reject-with icmp-host-prohibited"},
		{&rejectTarget, nil, " reject-with icmp-port-unreachable", "", " --reject-with icmp-port-unreachable"},
		{&rejectTarget, []string{"--reject-with", "TCP-RST"}, " reject-with tcp-reset", "", " --reject-with tcp-reset"},
		{&rejectTarget, []string{"--reject-with", "admin"}, " reject-with icmp-admin-prohibited", "", " --reject-with icmp-admin-prohibited"},
		{&rejectTarget, []string{"--reject-with", "proto"}, " reject-with icmp-proto-unreachable", "", " --reject-with icmp-proto-unreachable"},
		{&rejectTarget, []string{"--reject-with", ""}, " reject-with icmp-net-unreachable", "", " --reject-with icmp-net-unreachable"},
		{&traceTarget, nil, "", "", ""},
		{&notrackTarget, nil, " NOTRACK", "", ""},
		{&ctTarget, []string{"--notrack"}, " CT notrack", "", " --notrack"},
		{&ctTarget, nil, " CT", "", ""},
		{&ctTarget, []string{"--zone", "MARK"}, " CT zone mark", "", " --zone mark"},
		{&ctTarget, []string{"--zone-orig", "5"}, " CT zone-orig 5", "", " --zone-orig 5"},
		{&ctTarget, []string{"--zone-reply", "mark"}, " CT zone-reply mark", "", " --zone-reply mark"},
		{&ctTarget, []string{"--zone-orig", "5", "--zone-reply", "6"}, " CT zone 6", "", " --zone 6"},
		{&ctTarget, []string{"--ctevents", "mark,new", "--expevents", "new"}, " CT ctevents new,mark expevents new", "", " --ctevents new,mark --expevents new"},
		{&ctTarget, []string{"--expevents", "new", "--ctevents", "new", "--zone", "3", "--notrack"},
			" CT notrack ctevents new expevents new zone 3", "", " --notrack --ctevents new --expevents new --zone 3"},
		{&ctTarget, []string{"--helper", "ftp"}, " CT helper ftp", "", " --helper ftp"},
		{&ctTarget, []string{"--notrack", "--helper", "nosuchhelperxxxxxxxxxxx", "--timeout", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnop"},
			" CT notrack helper nosuchhelperxxx timeout abcd", "", " --notrack --helper nosuchhelperxxx --timeout abcd"},
		{&nflogTarget, nil, "", "", ""},
		{&nflogTarget, []string{"--nflog-group", "5", "--nflog-prefix", "hello world", "--nflog-size", "100", "--nflog-threshold", "10"},
			` nflog-prefix "hello world" nflog-group 5 nflog-size 100 nflog-threshold 10`, "",
			` --nflog-prefix "hello world" --nflog-group 5 --nflog-size 100 --nflog-threshold 10`},
		{&nflogTarget, []string{"--nflog-range", "64"}, " nflog-range 64", "", " --nflog-range 64"},
		{&nflogTarget, []string{"--nflog-size", "0"}, " nflog-size 0", "", " --nflog-size 0"},
		{&nflogTarget, []string{"--nflog-threshold", "0x10"}, " nflog-threshold 16", "", " --nflog-threshold 16"},
		{&nfqueueTarget, nil, " NFQUEUE num 0", "", " --queue-num 0"},
		{&nfqueueTarget, []string{"--queue-num", "5"}, " NFQUEUE num 5", "", " --queue-num 5"},
		{&nfqueueTarget, []string{"--queue-balance", "2:7", "--queue-bypass", "--queue-cpu-fanout"},
			" NFQUEUE balance 2:7 bypass cpu-fanout", "", " --queue-balance 2:7 --queue-bypass --queue-cpu-fanout"},
		{&nfqueueTarget, []string{"--queue-bypass"}, " NFQUEUE num 0 bypass", "", " --queue-num 0 --queue-bypass"},
		{&markTarget, []string{"--set-mark", "5"}, " MARK set 0x5", "", " --set-xmark 0x5/0xffffffff"},
		{&markTarget, []string{"--set-mark", "5/0xff"}, " MARK xset 0x5/0xff", "", " --set-xmark 0x5/0xff"},
		{&markTarget, []string{"--and-mark", "0xff"}, " MARK and 0xff", "", " --set-xmark 0x0/0xffffff00"},
		{&markTarget, []string{"--or-mark", "3"}, " MARK or 0x3", "", " --set-xmark 0x3/0x3"},
		{&markTarget, []string{"--xor-mark", "7"}, " MARK xor 0x7", "", " --set-xmark 0x7/0x0"},
		{&markTarget, []string{"--set-xmark", "0"}, " MARK and 0x0", "", " --set-xmark 0x0/0xffffffff"},
		{&markTarget, []string{"--set-xmark", "5/0"}, " MARK xor 0x5", "", " --set-xmark 0x5/0x0"},
		{&connmarkTarget, []string{"--set-mark", "5/0xff"}, " CONNMARK xset 0x5/0xff", "", " --set-xmark 0x5/0xff"},
		{&connmarkTarget, []string{"--and-mark", "0xff"}, " CONNMARK and 0xff", "", " --set-xmark 0x0/0xffffff00"},
		{&connmarkTarget, []string{"--save-mark"}, " CONNMARK save", "", " --save-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
		{&connmarkTarget, []string{"--save-mark", "--mask", "0xff"}, " CONNMARK save mask 0xff", "", " --save-mark --nfmask 0xff --ctmask 0xff"},
		{&connmarkTarget, []string{"--save-mark", "--nfmask", "0xff", "--ctmask", "0xf0"},
			" CONNMARK save nfmask 0xff ctmask ~0xf0", "", " --save-mark --nfmask 0xff --ctmask 0xf0"},
		{&connmarkTarget, []string{"--restore-mark", "--ctmask", "0xf0"},
			" CONNMARK restore ctmask 0xf0 nfmask ~0xffffffff", "", " --restore-mark --nfmask 0xffffffff --ctmask 0xf0"},
		{&connmarkTarget, []string{"--restore-mark", "--right-shift-mark", "8", "--nfmask", "0xff00"},
			" CONNMARK restore ctmask 0xffffffff nfmask ~0xff00 right-shift-mark 8", "",
			" --restore-mark --nfmask 0xff00 --ctmask 0xffffffff --right-shift-mark 8"},
		{&connmarkTarget, []string{"--ctmask", "3", "--set-mark", "1"}, " CONNMARK set 0x1", "", " --set-xmark 0x1/0xffffffff"},
		{&connmarkTarget, []string{"--set-mark", "1", "--ctmask", "3"}, " CONNMARK xset 0x1/0x3", "", " --set-xmark 0x1/0x3"},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		in, err := parseTargetA(t, tc.def, tc.args)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c := &Ctx{Family: FamilyIPv4}
		var p, n, s strings.Builder
		in.Ext.Print(&p, c, false)
		in.Ext.Print(&n, c, true)
		in.Ext.Save(&s, c)
		num := tc.num
		if num == "" {
			num = tc.print
		}
		if p.String() != tc.print {
			t.Errorf("%s: -L %q, want %q", name, p.String(), tc.print)
		}
		if n.String() != num {
			t.Errorf("%s: -L -n %q, want %q", name, n.String(), num)
		}
		if s.String() != tc.save {
			t.Errorf("%s: -S %q, want %q", name, s.String(), tc.save)
		}
	}
}

// Parse errors, with iptables-legacy 1.8.9's messages.
func TestTargetsAErrors(t *testing.T) {
	tests := []struct {
		def  *Def
		args []string
		want string
	}{
		{&logTarget, []string{"--log-level", "8"}, "log level \"8\" unknown\n"},
		{&logTarget, []string{"--log-level", "Alert"}, "log level \"Alert\" unknown\n"},
		{&logTarget, []string{"--log-prefix", ""}, "Argument must have a minimum length of 1 characters\n"},
		{&logTarget, []string{"--log-prefix", "a\nb"}, "Newlines not allowed in --log-prefix"},
		{&logTarget, []string{"--log-uid", "--log-uid"}, "LOG: option \"--log-uid\" can only be used once.\n"},
		{&logTarget, []string{"!", "--log-uid"}, "LOG: option \"--log-uid\" cannot be inverted.\n"},
		{&rejectTarget, []string{"--reject-with", "foo"}, "unknown reject type \"foo\""},
		{&rejectTarget, []string{"--reject-with", "icmp-net-unreachablex"}, "unknown reject type \"icmp-net-unreachablex\""},
		{&nflogTarget, []string{"--nflog-group", "70000"}, "NFLOG: bad value for option \"--nflog-group\", or out of range (0-65535).\n"},
		{&nflogTarget, []string{"--nflog-range", "1", "--nflog-size", "2"}, "NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".\n"},
		{&nfqueueTarget, []string{"--queue-num", "1", "--queue-balance", "2:3"}, "NFQUEUE: option \"--queue-num\" cannot be used together with \"--queue-balance\".\n"},
		{&nfqueueTarget, []string{"--queue-cpu-fanout"}, "NFQUEUE: option \"--queue-cpu-fanout\" also requires \"--queue-balance\".\n"},
		{&nfqueueTarget, []string{"--queue-balance", "4"}, "Bad range \"4\""},
		{&nfqueueTarget, []string{"--queue-balance", "4:3"}, "4 should be less than 3"},
		{&nfqueueTarget, []string{"--queue-balance", "1:2:3"}, "NFQUEUE: Too many components for option \"--queue-balance\" (max: 2)\n"},
		{&ctTarget, []string{"--zone", "65536"}, "Cannot parse 65536 as a zone ID"},
		{&ctTarget, []string{"--ctevents", "new,"}, "Unknown event type \"\""},
		{&ctTarget, []string{"--expevents", "destroy"}, "Unknown event type \"destroy\""},
		{&markTarget, nil, "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required"},
		{&markTarget, []string{"--set-mark", "1", "--and-mark", "2"}, "MARK: option \"--set-mark\" cannot be used together with \"--and-mark\".\n"},
		{&markTarget, []string{"--set-mark", "1x"}, "MARK: trailing garbage after value for option \"--set-mark\".\n"},
		{&markTarget, []string{"--and-mark", "1x"}, "MARK: bad value for option \"--and-mark\", or out of range (0-4294967295).\n"},
		{&connmarkTarget, nil, "CONNMARK target: No operation specified"},
		{&connmarkTarget, []string{"--mask", "1", "--ctmask", "2"}, "CONNMARK target: No operation specified"},
		{&connmarkTarget, []string{"--save-mark", "--mask", "1", "--ctmask", "2"}, "CONNMARK: option \"--ctmask\" cannot be used together with \"--mask\".\n"},
		{&connmarkTarget, []string{"--restore-mark", "--save-mark"}, "CONNMARK: option \"--save-mark\" cannot be used together with \"--restore-mark\".\n"},
		{&connmarkTarget, []string{"--save-mark", "--save-mark"}, "CONNMARK: option \"--save-mark\" can only be used once.\n"},
		{&connmarkTarget, []string{"--save-mark", "--left-shift-mark", "33"}, "CONNMARK: bad value for option \"--left-shift-mark\", or out of range (0-32).\n"},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		_, err := parseTargetA(t, tc.def, tc.args)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// Kernel checkentry refusals.
func TestTargetsACheck(t *testing.T) {
	tests := []struct {
		def   *Def
		args  []string
		proto uint8
		inv   bool
		want  string // "" = accepted
	}{
		{&rejectTarget, []string{"--reject-with", "tcp-reset"}, 0, false, "Invalid argument: ipt_REJECT: TCP_RESET invalid for non-tcp"},
		{&rejectTarget, []string{"--reject-with", "tcp-reset"}, 6, true, "Invalid argument: ipt_REJECT: TCP_RESET invalid for non-tcp"},
		{&rejectTarget, []string{"--reject-with", "tcp-reset"}, 6, false, ""},
		{&ctTarget, []string{"--helper", "ftp"}, 6, false, ""},
		{&ctTarget, []string{"--helper", "ftp"}, 0, false, "No chain/target/match by that name: xt_CT: You must specify a L4 protocol and not use inversions on it"},
		{&ctTarget, []string{"--helper", "ftp"}, 17, false, "No chain/target/match by that name: xt_CT: No such helper \"ftp\""},
		{&ctTarget, []string{"--timeout", "foo"}, 0, false, "Invalid argument: xt_CT: You must specify a L4 protocol and not use inversions on it"},
		{&ctTarget, []string{"--timeout", "foo"}, 6, false, "No chain/target/match by that name: No such timeout policy \"foo\""},
		{&ctTarget, []string{"--notrack", "--helper", "foo"}, 0, false, ""},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		in, err := parseTargetA(t, tc.def, tc.args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = in.Ext.(Checker).Check(&Ctx{Family: FamilyIPv4, Proto: tc.proto, ProtoInv: tc.inv})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s (proto %d inv %v): %q, want %q", name, tc.proto, tc.inv, got, tc.want)
		}
	}
}
