package xt

import (
	"strings"
	"testing"
)

// parseExt is buildExt for tests that hold a *testing.T.
func parseExt(t *testing.T, d *Def, proto uint8, args []string) (*Instance, error) {
	t.Helper()
	in, _, err := buildExt(d, proto, args...)
	return in, err
}

// The expected texts are what iptables-legacy 1.8.9 prints for the same
// rules (iptables -L, -L -n, -S), checked in a network namespace.
func TestMatchesBPrint(t *testing.T) {
	oldU, oldG := UserName, GroupName
	defer func() { UserName, GroupName = oldU, oldG }()
	UserName = func(uid uint32) (string, bool) { return map[uint32]string{0: "root", 1: "daemon"}[uid], uid <= 1 }
	GroupName = func(gid uint32) (string, bool) { return map[uint32]string{0: "root", 1: "daemon"}[gid], gid <= 1 }

	tests := []struct {
		def   *Def
		proto uint8
		args  []string
		print string // -L
		num   string // -L -n ("" = same as print)
		save  string // -S ("" = not checked)
	}{
		{&tosMatch, 0, []string{"--tos", "Minimize-Delay"}, " tos match Minimize-Delay", " tos match0x10/0x3f", " --tos 0x10/0x3f"},
		{&tosMatch, 0, []string{"!", "--tos", "0x0f/0x0f"}, " tos match!0x0f/0x0f", "", " ! --tos 0x0f/0x0f"},
		{&tosMatch, 0, []string{"!", "--tos", "normal-service"}, " tos match! Normal-Service", " tos match!0x00/0x3f", " ! --tos 0x00/0x3f"},
		{&tosMatch, 0, []string{"--tos", "0xff"}, " tos match0xff/0xff", "", " --tos 0xff/0xff"},
		{&tosMatch, 0, []string{"--tos", "8/0x3f"}, " tos match Maximize-Throughput", " tos match0x08/0x3f", " --tos 0x08/0x3f"},

		{&dscpMatch, 0, []string{"--dscp", "10"}, " DSCP match 0x0a", "", " --dscp 0x0a"},
		{&dscpMatch, 0, []string{"!", "--dscp-class", "AF41x"}, " DSCP match !0x22", "", " ! --dscp 0x22"},
		{&dscpMatch, 0, []string{"--dscp-class", "ef"}, " DSCP match 0x2e", "", " --dscp 0x2e"},

		{&tcpmssMatch, 6, []string{"--mss", "100:200"}, " tcpmss match 100:200", "", " --mss 100:200"},
		{&tcpmssMatch, 6, []string{"!", "--mss", "50"}, " tcpmss match !50", "", " ! --mss 50"},
		{&tcpmssMatch, 6, []string{"--mss", ":"}, " tcpmss match 0:65535", "", " --mss 0:65535"},

		{&ownerMatch, 0, []string{"--uid-owner", "0"}, " owner UID match root", " owner UID match 0", " --uid-owner 0"},
		{&ownerMatch, 0, []string{"!", "--uid-owner", "1-5", "--gid-owner", "1", "--suppl-groups"},
			" ! owner UID match 1-5 owner GID match daemon incl. suppl. groups",
			" ! owner UID match 1-5 owner GID match 1 incl. suppl. groups",
			" ! --uid-owner 1-5 --gid-owner 1 --suppl-groups"},
		{&ownerMatch, 0, []string{"!", "--socket-exists"}, " ! owner socket exists", "", " ! --socket-exists"},
		{&ownerMatch, 0, []string{"--gid-owner", "1:1"}, " owner GID match daemon", " owner GID match 1", " --gid-owner 1"},
		{&ownerMatch, 0, []string{"--uid-owner", "4294967294"}, " owner UID match 4294967294", "", " --uid-owner 4294967294"},

		{&stringMatch, 0, []string{"--string", `a"b\\c d`, "--algo", "bm"},
			` STRING match  "a\"b\\\\c d" ALGO name bm`, "", ` --string "a\"b\\\\c d" --algo bm`},
		{&stringMatch, 0, []string{"!", "--hex-string", "|41 42|C|00|", "--algo", "kmp", "--from", "10", "--to", "100", "--icase"},
			` STRING match ! "|41424300|" ALGO name kmp FROM 10 TO 100 ICASE`, "",
			` ! --hex-string "|41424300|" --algo kmp --from 10 --to 100 --icase`},
		{&stringMatch, 0, []string{"--string", `ab\\`, "--algo", "bm"},
			` STRING match  "|61625c5c|" ALGO name bm`, "", ` --hex-string "|61625c5c|" --algo bm`},
		{&stringMatch, 0, []string{"--string", "\xc3\xa9", "--algo", "bm", "--to", "65535", "--from", "0"},
			` STRING match  "|c3a9|" ALGO name bm`, "", ` --hex-string "|c3a9|" --algo bm`},

		{&timeMatch, 0, strings.Fields("--timestart 01:02:03 --timestop 04:05:06 --monthdays 1,2,3,4,5,11,12,13,21,22,23,31 --weekdays Mon,Fri,Sun --datestart 2001-02-03T04:05:06 --datestop 2012-09-08T09:06:05 --kerneltz"),
			" TIME from 01:02:03 to 04:05:06 on Mon,Fri,Sun on 1st,2nd,3rd,4th,5th,11st,12nd,13rd,21st,22nd,23rd,31st starting from 2001-02-03 04:05:06 until date 2012-09-08 09:06:05", "",
			" --timestart 01:02:03 --timestop 04:05:06 --monthdays 1,2,3,4,5,11,12,13,21,22,23,31 --weekdays Mon,Fri,Sun --datestart 2001-02-03T04:05:06 --datestop 2012-09-08T09:06:05 --kerneltz"},
		{&timeMatch, 0, strings.Fields("--timestart 22:00 --timestop 02:00 --contiguous"),
			" TIME from 22:00:00 to 02:00:00 UTC contiguous", "",
			" --timestart 22:00:00 --timestop 02:00:00 --datestop 2038-01-19T03:14:07 --contiguous"},
		{&timeMatch, 0, strings.Fields("! --weekdays 1,2"), " TIME on Wed,Thu,Fri,Sat,Sun UTC", "",
			" --weekdays Wed,Thu,Fri,Sat,Sun --datestop 2038-01-19T03:14:07"},
		{&timeMatch, 0, strings.Fields("--datestop 2038-12-31"), " TIME until date 2038-12-31 00:00:00 UTC", "",
			" --datestop 2038-12-31T00:00:00"},
		{&timeMatch, 0, strings.Fields("--monthdays 0"), " TIME on  UTC", "", " --monthdays  --datestop 2038-01-19T03:14:07"},
		{&timeMatch, 0, strings.Fields("--weekdays 8"), " TIME on  UTC", "", " --weekdays  --datestop 2038-01-19T03:14:07"},
		{&timeMatch, 0, strings.Fields("--localtz"), " TIME", "", " --datestop 2038-01-19T03:14:07 --kerneltz"},
		{&timeMatch, 0, strings.Fields("--datestart 2038-12-31T23:59:59 --datestop 1970-01-01T00:00:00"),
			" TIME starting from 2038-12-31 23:59:59 until date UTC", "", " --datestart 2038-12-31T23:59:59"},
		{&timeMatch, 0, strings.Fields("--datestart 2001- --timestart 4294967296:00 --timestop 1:"),
			" TIME from 00:00:00 to 01:00:00 starting from 2000-12-01 00:00:00 UTC", "",
			" --timestart 00:00:00 --timestop 01:00:00 --datestart 2000-12-01T00:00:00 --datestop 2038-01-19T03:14:07"},

		{&addrtypeMatch, 0, strings.Fields("--src-type LOCAL,unicast ! --dst-type loc,BROAD --limit-iface-in"),
			" ADDRTYPE match src-type UNICAST,LOCAL dst-type !LOCAL,BROADCAST limit-in", "",
			" --src-type UNICAST,LOCAL ! --dst-type LOCAL,BROADCAST --limit-iface-in"},
		{&addrtypeMatch, 0, strings.Fields("! --src-type xres"), " ADDRTYPE match src-type !XRESOLVE", "", " ! --src-type XRESOLVE"},
		{&addrtypeMatch, 0, strings.Fields("--dst-type UNSPEC --limit-iface-out"), " ADDRTYPE match dst-type UNSPEC limit-out", "",
			" --dst-type UNSPEC --limit-iface-out"},

		{&statisticMatch, 0, strings.Fields("--mode random --probability 0.3"), " statistic mode random probability 0.29999999981", "",
			" --mode random --probability 0.29999999981"},
		{&statisticMatch, 0, strings.Fields("--mode random ! --probability 1"), " statistic mode random ! probability 1.00000000000", "",
			" --mode random ! --probability 1.00000000000"},
		{&statisticMatch, 0, strings.Fields("--mode nth ! --every 3 --packet 0"), " statistic mode nth ! every 3", "",
			" --mode nth ! --every 3 --packet 0"},
		{&statisticMatch, 0, strings.Fields("--mode nth --every 3 --packet 2"), " statistic mode nth every 3 packet 2", "",
			" --mode nth --every 3 --packet 2"},
		{&statisticMatch, 0, strings.Fields("--mode random --probability 0.0000000001"), " statistic mode random probability 0.00000000000", "",
			" --mode random --probability 0.00000000000"},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		in, err := parseExt(t, tc.def, tc.proto, tc.args)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var b strings.Builder
		in.Ext.Print(&b, &Ctx{}, false)
		if b.String() != tc.print {
			t.Errorf("%s: -L\n got %q\nwant %q", name, b.String(), tc.print)
		}
		want := tc.num
		if want == "" {
			want = tc.print
		}
		b.Reset()
		in.Ext.Print(&b, &Ctx{}, true)
		if b.String() != want {
			t.Errorf("%s: -L -n\n got %q\nwant %q", name, b.String(), want)
		}
		if tc.save != "" {
			b.Reset()
			in.Ext.Save(&b, &Ctx{})
			if b.String() != tc.save {
				t.Errorf("%s: -S\n got %q\nwant %q", name, b.String(), tc.save)
			}
		}
	}
}

// Error messages as iptables-legacy 1.8.9 prints them (after the
// "iptables v1.8.9 (legacy): " prefix).
func TestMatchesBErrors(t *testing.T) {
	tests := []struct {
		def  *Def
		args []string
		msg  string
	}{
		{&tosMatch, []string{"--tos", "256"}, `Symbolic name "256" is unknown`},
		{&tosMatch, []string{"--tos", "0x10/"}, `Illegal value: "0x10/"`},
		{&dscpMatch, nil, "DSCP match: Parameter --dscp is required"},
		{&dscpMatch, []string{"--dscp", "64"}, "dscp: bad value for option \"--dscp\", or out of range (0-63).\n"},
		{&dscpMatch, []string{"--dscp-class", "XX"}, "Invalid DSCP value `XX'"},
		{&tcpmssMatch, []string{"--mss", "1:2:3"}, "tcpmss: Too many components for option \"--mss\" (max: 2)\n"},
		{&tcpmssMatch, []string{"--mss", "1x"}, "tcpmss: Argument to \"--mss\" has unexpected characters near \"x\".\n"},
		{&tcpmssMatch, []string{"--mss", "70000"}, "tcpmss: bad value for option \"--mss\" near \"70000\", or out of range (0-65535).\n"},
		{&tcpmssMatch, []string{"--mss", "5:1"}, "tcpmss: invalid range given"},
		{&ownerMatch, []string{"--uid-owner", "4294967295"}, `owner: Bad value for "--uid-owner" option: "4294967295"`},
		{&ownerMatch, []string{"--uid-owner", "1-2x"}, `owner: Bad value for "--uid-owner" option: "1-2x"`},
		{&ownerMatch, []string{"--suppl-groups"}, `owner: Bad value for "--suppl-groups" option: "you need to use --gid-owner first"`},
		{&ownerMatch, nil, "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required"},
		{&stringMatch, []string{"--hex-string", "|4|"}, "Invalid hex block"},
		{&stringMatch, []string{"--hex-string", "|4g|"}, "Invalid hex char 'g'"},
		{&stringMatch, []string{"--hex-string", `|41\|`}, "Cannot include literals in hex data"},
		{&stringMatch, []string{"--hex-string", "x||y"}, "Invalid hex block"},
		{&timeMatch, strings.Fields("--timestart 22:00 --timestop 23:00 --contiguous"), "time: --contiguous only makes sense when stoptime is smaller than starttime"},
		{&timeMatch, strings.Fields("--weekdays 0"), "No, the week does NOT begin with Sunday."},
		{&timeMatch, strings.Fields("--weekdays tu"), "tu is not a valid day specifier"},
		{&timeMatch, strings.Fields("--monthdays 08"), "08 is not a valid day for --monthdays"},
		{&timeMatch, strings.Fields("--datestart 1969"), `Invalid date "1969" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]`},
		{&timeMatch, strings.Fields("--timestart 01:99"), `invalid time "99" specified, should be hh:mm[:ss] format and within the boundaries`},
		{&timeMatch, strings.Fields("--datestart 1970-00"), "mktime returned an error"},
		{&timeMatch, strings.Fields("--utc --kerneltz"), "time: option \"--utc\" cannot be used together with \"--kerneltz\".\n"},
		{&addrtypeMatch, strings.Fields("--src-type LOCAL,FOO,BAR"), "addrtype: bad type `FOO,BAR'"},
		{&addrtypeMatch, strings.Fields("--src-type LOCAL,"), `addrtype: bad type ""`},
		{&addrtypeMatch, strings.Fields("--limit-iface-in"), "addrtype: you must specify --src-type or --dst-type"},
		{&statisticMatch, strings.Fields("--mode foo"), `Bad mode "foo"`},
		{&statisticMatch, strings.Fields("--mode random --probability 2"), "statistic: bad value for option \"--probability\", or out of range (0-1).\n"},
		{&statisticMatch, strings.Fields("--mode nth --every 0 --packet 0"), "statistic: bad value for option \"--every\", or out of range (1-4294967295).\n"},
		{&statisticMatch, strings.Fields("--mode nth --every 3 --packet 3"), "the --packet p must be 0 <= p <= n-1"},
		{&statisticMatch, strings.Fields("--mode random --every 3 --packet 1"), "--probability must be specified when using random mode"},
		{&statisticMatch, strings.Fields("--mode nth --every 5 --probability 0.5"), "statistic: option \"--probability\" cannot be used together with \"--every\".\n"},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		_, err := parseExt(t, tc.def, 0, tc.args)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("%s:\n got %q\nwant %q", name, err.Error(), tc.msg)
		}
	}
}

// Kernel checkentry refusals (iptables: "Invalid argument" / "No
// chain/target/match by that name").
func TestMatchesBCheck(t *testing.T) {
	tests := []struct {
		def   *Def
		args  []string
		hooks HookMask
		errno string // "" = accepted
	}{
		{&ownerMatch, strings.Fields("--uid-owner 5-3"), MaskOut, "Invalid argument"},
		{&ownerMatch, strings.Fields("--uid-owner 3-5"), MaskOut, ""},
		{&stringMatch, strings.Fields("--string x --algo wrong"), MaskIn, "No chain/target/match by that name"},
		{&stringMatch, []string{"--string", "", "--algo", "bm"}, MaskIn, "Invalid argument"},
		{&stringMatch, strings.Fields("--string x --algo bm --from 10 --to 5"), MaskIn, "Invalid argument"},
		{&stringMatch, strings.Fields("--string x --algo fsm"), MaskIn, "Invalid argument"},
		{&stringMatch, strings.Fields("--hex-string |00000041| --algo fsm"), MaskIn, ""},
		{&stringMatch, strings.Fields("--hex-string |00000441| --algo fsm"), MaskIn, "Invalid argument"},
		{&addrtypeMatch, strings.Fields("--src-type LOCAL --limit-iface-out"), MaskIn, "Invalid argument"},
		{&addrtypeMatch, strings.Fields("--src-type LOCAL --limit-iface-in"), MaskOut, "Invalid argument"},
		{&addrtypeMatch, strings.Fields("--src-type LOCAL --limit-iface-in"), MaskFwd | MaskIn, ""},
		{&addrtypeMatch, strings.Fields("--src-type LOCAL --limit-iface-out"), MaskPost, ""},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		in, err := parseExt(t, tc.def, 0, tc.args)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		err = in.Ext.(Checker).Check(&Ctx{Family: FamilyIPv4, Hooks: tc.hooks})
		got := ""
		if ke, ok := err.(*KernelError); ok {
			got = ke.Errno
		} else if err != nil {
			got = err.Error()
		}
		if got != tc.errno {
			t.Errorf("%s: got %q, want %q", name, got, tc.errno)
		}
	}
}
