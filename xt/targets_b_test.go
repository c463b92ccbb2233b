package xt

import (
	"strings"
	"testing"
)

// parseTargetB is buildExt for a target under -p proto.
func parseTargetB(t *testing.T, d *Def, proto uint8, args []string) (*Instance, error) {
	t.Helper()
	in, _, err := buildExt(d, proto, args...)
	return in, err
}

// The expected texts are what iptables-legacy 1.8.9 prints for the same
// rules (iptables -L, -L -n, -S), checked in a network namespace; the
// first five are the seed rules of the NAT step.
func TestTargetsBPrint(t *testing.T) {
	tests := []struct {
		def   *Def
		proto uint8
		args  string
		print string // -L
		num   string // -L -n ("" = same as print)
		save  string // -S
	}{
		{&redirectTarget, 6, "--to-ports 22", " redir ports 22", "", " --to-ports 22"},
		{&dnatTarget, 6, "--to-destination 10.0.0.2:8080", " to:10.0.0.2:8080", "", " --to-destination 10.0.0.2:8080"},
		{&masqueradeTarget, 0, "", "", "", ""},
		{&snatTarget, 6, "--to-source 10.0.0.1", " to:10.0.0.1", "", " --to-source 10.0.0.1"},
		{&redirectTarget, 6, "--to-ports 15001", " redir ports 15001", "", " --to-ports 15001"},

		{&dnatTarget, 6, "--to-destination 1.1.1.1:1000-2000/1000x", " to:1.1.1.1:1000-2000/1000", "", " --to-destination 1.1.1.1:1000-2000/1000"},
		{&dnatTarget, 6, "--to-destination 12:80", " to::80", "", " --to-destination :80"},
		{&dnatTarget, 1, "--to-destination 1.2.3.4:80", " to:1.2.3.4:80", "", " --to-destination 1.2.3.4:80"},
		{&dnatTarget, 17, "--to-destination 1.2.3.4-1.2.3.9:ssh --random --persistent", " to:1.2.3.4-1.2.3.9:22 random persistent", "", " --to-destination 1.2.3.4-1.2.3.9:22 --random --persistent"},
		{&snatTarget, 17, "--to-source 1.2.3.4-1.2.3.9:100-200 --random --random-fully --persistent", " to:1.2.3.4-1.2.3.9:100-200 random random-fully persistent", "", " --to-source 1.2.3.4-1.2.3.9:100-200 --random --random-fully --persistent"},
		{&snatTarget, 6, "--to-source 1.1.1.1:1000-2000/3000", " to:1.1.1.1:1000-2000/0", "", " --to-source 1.1.1.1:1000-2000/0"},
		{&masqueradeTarget, 6, "--to-ports 1000-2000/3000", " masq ports: 1000-2000/0", "", " --to-ports 1000-2000/0"},
		{&masqueradeTarget, 17, "--to-ports 100 --random-fully --random", " masq ports: 100 random random-fully", "", " --to-ports 100 --random --random-fully"},
		{&redirectTarget, 17, "--random --to-ports 1-2", " redir ports 1-2 random", "", " --to-ports 1-2 --random"},
		{&redirectTarget, 0, "", "", "", ""},
		{&netmapTarget, 0, "--to 1.2.3.0/255.255.0.255", " to:1.2.3.0/32", "", " --to 1.2.3.0/32"},
		{&netmapTarget, 0, "--to 10.2.3.4/8", " to:10.0.0.0/8", "", " --to 10.0.0.0/8"},
		{&netmapTarget, 0, "--to 1.2.3.4/33", " to:1.2.3.4/32", "", " --to 1.2.3.4/32"},

		{&tcpmssTarget, 6, "--set-mss 42", " TCPMSS set 42", "", " --set-mss 42"},
		{&tcpmssTarget, 6, "--clamp-mss-to-pmtu --set-mss 5", " TCPMSS set 5", "", " --set-mss 5"},
		{&tcpmssTarget, 6, "--set-mss 5 --clamp-mss-to-pmtu", " TCPMSS clamp to PMTU", "", " --clamp-mss-to-pmtu"},

		{&tosTarget, 0, "--set-tos 0x10/0x3f", "  TOS setMinimize-Delay", " TOS set 0x10/0x3f", " --set-tos 0x10/0x3f"},
		{&tosTarget, 0, "--set-tos 0x10", " TOS set 0x10/0xff", "", " --set-tos 0x10/0xff"},
		{&tosTarget, 0, "--and-tos 0x12", " TOS and 0x12", " TOS set 0x00/0xed", " --set-tos 0x00/0xed"},
		{&tosTarget, 0, "--or-tos 0x12", " TOS or 0x12", " TOS set 0x12/0x12", " --set-tos 0x12/0x12"},
		{&tosTarget, 0, "--xor-tos 0x12", " TOS xor 0x12", " TOS set 0x12/0x00", " --set-tos 0x12/0x00"},
		{&tosTarget, 0, "--set-tos 0x12/0x13", " TOS set 0x12/0x13", "", " --set-tos 0x12/0x13"},
		{&tosTarget, 0, "--set-tos 0/0x3f", "  TOS setNormal-Service", " TOS set 0x00/0x3f", " --set-tos 0x00/0x3f"},
		{&tosTarget, 0, "--set-tos 0/0", " TOS and 0xff", " TOS set 0x00/0x00", " --set-tos 0x00/0x00"},
		{&tosTarget, 0, "--set-tos 5/5", " TOS or 0x05", " TOS set 0x05/0x05", " --set-tos 0x05/0x05"},

		{&dscpTarget, 0, "--set-dscp 10", " DSCP set 0x0a", "", " --set-dscp 0x0a"},
		{&dscpTarget, 0, "--set-dscp-class af41", " DSCP set 0x22", "", " --set-dscp 0x22"},
		{&dscpTarget, 0, "--set-dscp-class EFx", " DSCP set 0x2e", "", " --set-dscp 0x2e"},

		{&setTarget, 0, "--add-set foo src,dst --exist --timeout 10 --del-set bar dst", " add-set foo src,dst exist timeout 10 del-set bar dst", "", " --add-set foo src,dst --exist --timeout 10 --del-set bar dst"},
		{&setTarget, 0, "--del-set foo src", " del-set foo src", "", " --del-set foo src"},
		{&setTarget, 0, "--map-set m dst --map-mark --map-prio --map-queue", " map-set m dst map-mark map-prio map-queue", "", " --map-set m dst --map-mark --map-prio --map-queue"},
		{&setTarget, 0, "! --add-set foo src", " add-set foo src", "", " --add-set foo src"},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + tc.args
		in, err := parseTargetB(t, tc.def, tc.proto, strings.Fields(tc.args))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c := &Ctx{Family: FamilyIPv4, Proto: tc.proto}
		var p, n, s strings.Builder
		in.Ext.Print(&p, c, false)
		in.Ext.Print(&n, c, true)
		in.Ext.Save(&s, c)
		num := tc.num
		if num == "" {
			num = tc.print
		}
		if p.String() != tc.print {
			t.Errorf("%s: -L\n got %q\nwant %q", name, p.String(), tc.print)
		}
		if n.String() != num {
			t.Errorf("%s: -L -n\n got %q\nwant %q", name, n.String(), num)
		}
		if s.String() != tc.save {
			t.Errorf("%s: -S\n got %q\nwant %q", name, s.String(), tc.save)
		}
	}
}

// Error messages as iptables-legacy 1.8.9 prints them (after the
// "iptables v1.8.9 (legacy): " prefix).
func TestTargetsBErrors(t *testing.T) {
	tests := []struct {
		def   *Def
		proto uint8
		args  []string
		msg   string
	}{
		{&dnatTarget, 0, strings.Fields("--to-destination [1.2.3.4]:80"), "Invalid address format"},
		{&dnatTarget, 6, strings.Fields("--to-destination 1.2.3.4:80:90"), `Bad IP address "1.2.3.4:80:90"`},
		{&dnatTarget, 0, []string{"--to-destination", ""}, `Bad IP address ""`},
		{&dnatTarget, 0, strings.Fields("--to-destination 1.1.1.1-"), `Bad IP address ""`},
		{&dnatTarget, 0, strings.Fields("--to-destination 1.1.1.1:1025-65535"), "Need TCP, UDP, SCTP or DCCP with port specification"},
		{&dnatTarget, 6, strings.Fields("--to-destination 1.1.1.1:10-20/0"), "Port `0' not valid"},
		{&dnatTarget, 6, strings.Fields("--to-destination 1.1.1.1:echo-ssh"), "Port `echo-ssh' not valid"},
		{&dnatTarget, 6, strings.Fields("--to-destination 1.1.1.1:1025-65536"), "Port `65536' not valid"},
		{&dnatTarget, 0, nil, "DNAT: option \"--to-destination\" must be specified\n"},
		{&snatTarget, 0, strings.Fields("--to-source 1.1.1.1 --to-source 2.2.2.2"), "SNAT: option \"--to-source\" can only be used once.\n"},
		{&redirectTarget, 6, strings.Fields("--to-ports 42-1234/567"), "Shifted portmap ranges not supported with this kernel"},
		{&redirectTarget, 6, strings.Fields("--to-ports 1:2"), "Invalid port:port syntax - use dash"},
		{&redirectTarget, 6, strings.Fields("--to-ports 2000-1000"), "Port range `1000' funky"},
		{&redirectTarget, 6, strings.Fields("--to-ports 10x"), "Garbage after port value: `x'"},
		{&redirectTarget, 6, strings.Fields("--to-ports 10-20x"), "Garbage after port range: `x'"},
		{&masqueradeTarget, 0, strings.Fields("--to-ports 80"), "Need TCP, UDP, SCTP or DCCP with port specification"},
		{&masqueradeTarget, 17, strings.Fields("--to-ports -1"), "Port `-1' not valid"},
		{&netmapTarget, 0, nil, "NETMAP: option \"--to\" must be specified\n"},
		{&netmapTarget, 0, strings.Fields("--to 1.2.3.4 --to 2.3.4.5"), "NETMAP: option \"--to\" can only be used once.\n"},
		{&tcpmssTarget, 6, nil, "TCPMSS target: At least one parameter is required"},
		{&tcpmssTarget, 6, strings.Fields("--set-mss 65516"), "TCPMSS: bad value for option \"--set-mss\", or out of range (0-65515).\n"},
		{&tosTarget, 0, strings.Fields("--set-tos 0x100"), `Symbolic name "0x100" is unknown`},
		{&tosTarget, 0, strings.Fields("--set-tos 0x10/0x100"), `Illegal value: "0x10/0x100"`},
		{&tosTarget, 0, strings.Fields("--and-tos 0x100"), "TOS: bad value for option \"--and-tos\", or out of range (0-255).\n"},
		{&tosTarget, 0, strings.Fields("--and-tos 1 --or-tos 2"), "TOS: option \"--and-tos\" cannot be used together with \"--or-tos\".\n"},
		{&tosTarget, 0, strings.Fields("--and-tos 1 --and-tos 2"), "TOS: option \"--and-tos\" can only be used once.\n"},
		{&tosTarget, 0, nil, "TOS: An action is required"},
		{&dscpTarget, 0, strings.Fields("--set-dscp-class XX"), "Invalid DSCP value `XX'"},
		{&dscpTarget, 0, strings.Fields("--set-dscp 0x40"), "DSCP: bad value for option \"--set-dscp\", or out of range (0-63).\n"},
		{&dscpTarget, 0, strings.Fields("--set-dscp-class EF --set-dscp 1"), "DSCP: option \"--set-dscp\" cannot be used together with \"--set-dscp-class\".\n"},
		{&dscpTarget, 0, nil, "DSCP target: Parameter --set-dscp is required"},
		{&setTarget, 0, strings.Fields("--add-set foo"), "--add-set requires two args."},
		{&setTarget, 0, strings.Fields("--add-set foo src --add-set foo dst"), "--add-set can be specified only once"},
		{&setTarget, 0, strings.Fields("--add-set foo src,dst,src,dst,src,dst,src"), "Can't be more src/dst options than 6."},
		{&setTarget, 0, strings.Fields("--add-set foo sr"), "You must spefify (the comma separated list of) 'src' or 'dst'."},
		{&setTarget, 0, strings.Fields("--add-set foo src --timeout 4294967295"), "Invalid value for option --timeout or out of range 0-4294967294"},
		{&setTarget, 0, strings.Fields("--del-set foo src --exist"), "Flag `--exist' can be used with `--add-set' only"},
		{&setTarget, 0, strings.Fields("--exist"), "You must specify either `--add-set' or `--del-set' or `--map-set'"},
		{&setTarget, 0, strings.Fields("--map-set m src"), "You must specify flags `--map-mark' or '--map-prio` or `--map-queue'"},
		{&setTarget, 0, strings.Fields("--add-set foo src --map-mark"), "Flag `--map-mark' can be used with `--map-set' only"},
		{&setTarget, 0, strings.Fields("--add-set aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa src"), "setname `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' too long, max 31 characters."},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + strings.Join(tc.args, " ")
		_, err := parseTargetB(t, tc.def, tc.proto, tc.args)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("%s:\n got %q\nwant %q", name, err.Error(), tc.msg)
		}
	}
}

// Kernel checkentry refusals beyond the table/hook/protocol restrictions,
// checked against iptables-legacy ("Invalid argument").
func TestTargetsBCheck(t *testing.T) {
	syn := func(args string) []*Instance {
		in := NewInstance(&tcpMatch)
		w := strings.Fields(args)
		next := 0
		c := NewCtx(w, &next)
		for next < len(w) {
			a := w[next]
			next++
			inv := false
			if a == "!" {
				inv, a = true, w[next]
				next++
			}
			for i := range tcpMatch.Options {
				if "--"+tcpMatch.Options[i].Name == a {
					arg := ""
					if tcpMatch.Options[i].Arg {
						arg = w[next]
						next++
					}
					if err := in.ParseOption(c, i, arg, arg != "", inv); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return []*Instance{in}
	}
	tests := []struct {
		def     *Def
		args    string
		table   string
		hooks   HookMask
		matches []*Instance
		ok      bool
	}{
		{&tcpmssTarget, "--set-mss 42", "mangle", MaskFwd, nil, false},
		{&tcpmssTarget, "--set-mss 42", "mangle", MaskFwd, syn("--syn"), true},
		{&tcpmssTarget, "--set-mss 42", "mangle", MaskPre, syn("! --syn"), false},
		{&tcpmssTarget, "--set-mss 42", "mangle", MaskPre, syn("--tcp-flags SYN,ACK SYN,ACK"), true},
		{&tcpmssTarget, "--set-mss 42", "mangle", MaskPre, syn("--tcp-flags ACK ACK"), false},
		{&tcpmssTarget, "--set-mss 4", "filter", MaskIn, syn("--syn"), true},
		{&tcpmssTarget, "--clamp-mss-to-pmtu", "mangle", MaskPre, syn("--syn"), false},
		{&tcpmssTarget, "--clamp-mss-to-pmtu", "filter", MaskIn, syn("--syn"), false},
		{&tcpmssTarget, "--clamp-mss-to-pmtu", "mangle", MaskFwd | MaskOut | MaskPost, syn("--syn"), true},
		{&setTarget, "--map-set m dst --map-mark", "filter", MaskIn, nil, false},
		{&setTarget, "--map-set m dst --map-mark", "mangle", MaskPre, nil, true},
		{&setTarget, "--map-set m dst --map-prio", "mangle", MaskIn, nil, false},
		{&setTarget, "--map-set m dst --map-queue", "mangle", MaskFwd, nil, true},
	}
	for _, tc := range tests {
		name := tc.def.Name + " " + tc.args
		in, err := parseTargetB(t, tc.def, 6, strings.Fields(tc.args))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		err = in.Ext.(Checker).Check(&Ctx{Family: FamilyIPv4, Table: tc.table, Proto: 6, Hooks: tc.hooks, Matches: tc.matches})
		if (err == nil) != tc.ok {
			t.Errorf("%s (%s, hooks %#x): got %v, want ok=%v", name, tc.table, tc.hooks, err, tc.ok)
		}
	}
}

// The compat NAT targets store a shifted range with a base port the store
// can read back ("/0" is what iptables-save prints, and cannot be parsed).
func TestTargetsBStoreSave(t *testing.T) {
	for _, tc := range []struct {
		def  *Def
		args string
		want string
	}{
		{&snatTarget, "--to-source 1.1.1.1:1000-2000/3000", " --to-source 1.1.1.1:1000-2000/1"},
		{&masqueradeTarget, "--to-ports 1000-2000/3000 --random", " --to-ports 1000-2000/1 --random"},
		{&masqueradeTarget, "--to-ports 1000-2000", " --to-ports 1000-2000"},
	} {
		in, err := parseTargetB(t, tc.def, 6, strings.Fields(tc.args))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		in.Ext.(StoreSaver).StoreSave(&b, &Ctx{})
		if b.String() != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.def.Name, tc.args, b.String(), tc.want)
		}
	}
}
