package xt

import (
	"strings"
	"testing"
)

// The expected texts are what iptables-legacy 1.8.9 prints (-L, -L -n,
// -S) for the same rules on this machine.
func TestMatchesAPrint(t *testing.T) {
	tests := []struct {
		def     *Def
		proto   uint8
		args    string
		numeric bool
		want    string
	}{
		{&udpMatch, 17, "--sport 65536", true, " udp spt:0"},
		{&udpMatch, 17, "--sport 010", true, " udp spt:10"},
		{&udpMatch, 17, "--sport 7", false, " udp spt:echo"},
		{&udpMatch, 17, "--dport domain:http", false, " udp dpts:domain:80"},
		{&udpMatch, 17, "--dport domain:http", true, " udp dpts:53:80"},
		{&udpMatch, 17, "! --dport :", true, " udp dpts:!0:65535"},

		{&icmpMatch, 1, "--icmp-type ECHO-REQ", true, " icmptype 8"},
		{&icmpMatch, 1, "--icmp-type ECHO-REQ", false, " icmp echo-request"},
		{&icmpMatch, 1, "! --icmp-type PING", true, " icmp !type 8"},
		{&icmpMatch, 1, "! --icmp-type PING", false, " icmp !echo-request"},
		{&icmpMatch, 1, "--icmp-type 3/1", true, " icmptype 3 code 1"},
		{&icmpMatch, 1, "--icmp-type 3/1", false, " icmp host-unreachable"},
		{&icmpMatch, 1, "--icmp-type 3/1:5", false, " icmptype 3 codes 1-5"},
		{&icmpMatch, 1, "! --icmp-type 3/1:5", true, " icmp !type 3 codes 1-5"},
		{&icmpMatch, 1, "--icmp-type 255/255", true, " icmptype 255 code 255"},
		{&icmpMatch, 1, "--icmp-type 255/0:255", true, " icmptype 255"},
		{&icmpMatch, 1, "--icmp-type 255/0:255", false, " icmp any"},
		{&icmpMatch, 1, "--icmp-type 200", false, " icmptype 200"},
		{&icmpMatch, 1, "! --icmp-type 200/0", false, " icmp !type 200 code 0"},
		{&icmpMatch, 1, "--icmp-type 11/0", false, " icmp ttl-zero-during-transit"},

		{&multiportMatch, 6, "--ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14:15", false,
			" multiport ports tcpmux,2,3,4,5,6,echo,8,discard,10,systat,12,daytime,14:netstat"},
		{&multiportMatch, 6, "--ports 0x10,010,ssh:http", false, " multiport ports 16,8,ssh:http"},
		{&multiportMatch, 6, "--ports 0x10,010,ssh:http", true, " multiport ports 16,8,22:80"},
		{&multiportMatch, 132, "--dports 22,80", false, " multiport dports 22,80"},
		{&multiportMatch, 17, "! --sports 53,domain,1000:2000", false, " multiport sports  !domain,domain,1000:2000"},
		{&multiportMatch, 136, "! --ports 22,80:90", true, " multiport ports  !22,80:90"},

		{&commentMatch, 0, `--comment a b"c\\d'`, true, ` /* a b"c\\d' */`},
		{&commentMatch, 0, "--comment ", false, " /*  */"},

		{&lengthMatch, 0, "--length 0x10:020", true, " length 16"},
		{&lengthMatch, 0, "! --length 100", false, " length !100"},
		{&lengthMatch, 0, "--length 10:", false, " length 10:65535"},

		{&markMatch, 0, "--mark  5", true, " mark match 0x5"},
		{&markMatch, 0, "! --mark 0xff/0xffffffff", false, " mark match ! 0xff"},
		{&markMatch, 0, "--mark 10/0x0", false, " mark match 0xa/0x0"},

		{&iprangeMatch, 0, "--src-range 10.1-10.2.3", false, " source IP range 10.1.0.0-10.2.3.0"},
		{&iprangeMatch, 0, "! --src-range 10.0.0.9-10.0.0.1 ! --dst-range 1.2.3.4", true,
			" source IP range ! 10.0.0.9-10.0.0.1 destination IP range ! 1.2.3.4-1.2.3.4"},

		{&macMatch, 0, "--mac-source AA:b:0c:d:e:F", false, " MAC aa:0b:0c:0d:0e:0f"},
		{&macMatch, 0, "! --mac-source 0:0:0:0:0:0", true, " MAC ! 00:00:00:00:00:00"},
		{&macMatch, 0, "--mac-source 1:2:3:4:5:-1", false, " MAC 01:02:03:04:05:ff"},

		{&pkttypeMatch, 0, "--pkt-type HOST", false, " PKTTYPE = unicast"},
		{&pkttypeMatch, 0, "! --pkt-type bcast", true, " PKTTYPE != broadcast"},

		{&ttlMatch, 0, "--ttl 5", false, " TTL match TTL == 5"},
		{&ttlMatch, 0, "! --ttl 6", true, " TTL match TTL != 6"},
		{&ttlMatch, 0, "--ttl-gt 0x10", false, " TTL match TTL > 16"},
		{&ttlMatch, 0, "--ttl-lt 5", false, " TTL match TTL < 5"},
	}
	for _, tc := range tests {
		words := splitArgs(tc.args)
		in, c, err := buildExt(tc.def, tc.proto, words...)
		if err != nil {
			t.Errorf("%s %s: %v", tc.def.Name, tc.args, err)
			continue
		}
		var b strings.Builder
		in.Ext.Print(&b, c, tc.numeric)
		if b.String() != tc.want {
			t.Errorf("%s %s (numeric %v): print %q, want %q", tc.def.Name, tc.args, tc.numeric, b.String(), tc.want)
		}
	}
}

// splitArgs splits on single spaces only after the option words, so that
// an argument may hold spaces: "--comment a b" is {"--comment", "a b"}.
func splitArgs(s string) []string {
	var out []string
	for s != "" {
		if strings.HasPrefix(s, "! ") {
			out = append(out, "!")
			s = s[2:]
			continue
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
		// The argument runs to the next " --" or " ! --".
		j := len(s)
		for _, sep := range []string{" ! --", " --"} {
			if k := strings.Index(s, sep); k >= 0 && k < j {
				j = k
			}
		}
		out = append(out, s[:j])
		s = strings.TrimPrefix(s[j:], " ")
	}
	return out
}

func TestMatchesASave(t *testing.T) {
	tests := []struct {
		def   *Def
		proto uint8
		args  string
		want  string
	}{
		{&udpMatch, 17, "--sport 4294967297 ! --dport domain:http", " --sport 1 ! --dport 53:80"},
		{&udpMatch, 17, "--sport :", ""},
		// 1.8.13 (the .t files); 1.8.9 drops the inverted full range.
		{&udpMatch, 17, "! --sport :", " ! --sport 0:65535"},
		{&icmpMatch, 1, "! --icmp-type PING", " ! --icmp-type 8"},
		{&icmpMatch, 1, "--icmp-type 3/1:5", " --icmp-type 3/1"},
		{&icmpMatch, 1, "--icmp-type 255/0:255", " --icmp-type any"},
		// 1.8.13 (the .t files); 1.8.9 saves "any".
		{&icmpMatch, 1, "--icmp-type 255/255", " --icmp-type 255/255"},
		{&multiportMatch, 6, "--ports 0x10,010,ssh:http", " --ports 16,8,22:80"},
		{&multiportMatch, 17, "! --sports 53,domain,1000:2000", " ! --sports 53,53,1000:2000"},
		{&commentMatch, 0, `--comment a b"c\\d'`, ` --comment "a b\"c\\\\d\'"`},
		{&commentMatch, 0, "--comment ", ` --comment ""`},
		{&commentMatch, 0, "--comment x_y-Z9", ` --comment x_y-Z9`},
		{&commentMatch, 0, "--comment " + strings.Repeat("x", 256), " --comment " + strings.Repeat("x", 255)},
		{&lengthMatch, 0, "! --length 100", " ! --length 100"},
		{&lengthMatch, 0, "--length :", " --length 0:65535"},
		{&markMatch, 0, "--mark 0xFEEDCAFE/0xFEEDCAFE", " --mark 0xfeedcafe/0xfeedcafe"},
		{&markMatch, 0, "! --mark 4294967295", " ! --mark 0xffffffff"},
		{&iprangeMatch, 0, "! --src-range 010.0x10.1.2-255.255.255.255 --dst-range 1.2.3.4",
			" ! --src-range 8.16.1.2-255.255.255.255 --dst-range 1.2.3.4-1.2.3.4"},
		{&macMatch, 0, "! --mac-source 1:2:3:4:5:", " ! --mac-source 01:02:03:04:05:00"},
		{&pkttypeMatch, 0, "--pkt-type mcast", " --pkt-type multicast"},
		{&ttlMatch, 0, "! --ttl 9", " ! --ttl-eq 9"},
		{&ttlMatch, 0, "--ttl-gt 255", " --ttl-gt 255"},
	}
	for _, tc := range tests {
		in, c, err := buildExt(tc.def, tc.proto, splitArgs(tc.args)...)
		if err != nil {
			t.Errorf("%s %s: %v", tc.def.Name, tc.args, err)
			continue
		}
		var b strings.Builder
		in.Ext.Save(&b, c)
		if b.String() != tc.want {
			t.Errorf("%s %s: save %q, want %q", tc.def.Name, tc.args, b.String(), tc.want)
		}
	}
}

func TestMatchesAErrors(t *testing.T) {
	tests := []struct {
		def   *Def
		proto uint8
		args  string
		want  string
	}{
		{&udpMatch, 17, "--sport 1 --sport 2", "udp: option \"--source-port\" can only be used once.\n"},
		{&udpMatch, 17, "--dport 1 --destination-port 2", "udp: option \"--destination-port\" can only be used once.\n"},
		{&udpMatch, 17, "--sport 0x10", "Port \"0x10\" does not resolve to anything.\n"},
		{&udpMatch, 17, "--sport 2147483648", "Port \"2147483648\" does not resolve to anything.\n"},
		{&udpMatch, 17, "--dport 1:2:3", "udp: Too many components for option \"--destination-port\" (max: 2)\n"},
		// 1.8.13 (the .t files); 1.8.9 accepts a descending range.
		{&udpMatch, 17, "--dport 4:3", "Port range 4-3 is negative.\n"},
		{&icmpMatch, 1, "--icmp-type echo", "Ambiguous ICMP type `echo': `echo-reply' or `echo-request'?"},
		{&icmpMatch, 1, "--icmp-type ", "Ambiguous ICMP type `': `any' or `echo-reply'?"},
		{&icmpMatch, 1, "--icmp-type info-request", "Unknown ICMP type `info-request'"},
		{&icmpMatch, 1, "--icmp-type 3:4", "ICMP type range not supported"},
		{&icmpMatch, 1, "--icmp-type 3/1x", "unknown character x"},
		{&icmpMatch, 1, "--icmp-type 3/300", "Unknown ICMP code `3/300'"},
		{&icmpMatch, 1, "--icmp-type 1 --icmp-type 2", "icmp: option \"--icmp-type\" can only be used once.\n"},
		{&icmpMatch, 1, "", "icmp: option \"--icmp-type\" must be specified\n"},
		{&multiportMatch, 0, "--dports 1", "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"},
		{&multiportMatch, 1, "--dports 1", "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"},
		{&multiportMatch, 6, "", "multiport expection an option"},
		{&multiportMatch, 6, "--sports 1 --dports 2", "multiport: option \"--source-ports\" cannot be used together with \"--destination-ports\".\n"},
		{&multiportMatch, 6, "--dports 1 --dports 2", "multiport: option \"--destination-ports\" can only be used once.\n"},
		{&multiportMatch, 6, "--ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "too many ports specified"},
		{&multiportMatch, 6, "--ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16", "too many ports specified"},
		{&multiportMatch, 6, "--ports 5:5", "invalid portrange specified"},
		{&multiportMatch, 17, "--sports ssh", "invalid port/service `ssh' specified"},
		{&multiportMatch, 6, "--ports 1:2:3", "invalid port/service `2:3' specified"},
		{&commentMatch, 0, "! --comment x", "comment: option \"--comment\" cannot be inverted.\n"},
		{&lengthMatch, 0, "--length 5x", "length: Argument to \"--length\" has unexpected characters near \"x\".\n"},
		{&lengthMatch, 0, "--length -1:5", "length: bad value for option \"--length\" near \"-1:5\", or out of range (0-65535).\n"},
		{&lengthMatch, 0, "--length 1:2:3", "length: Too many components for option \"--length\" (max: 2)\n"},
		// 1.8.13 (the .t files); 1.8.9 accepts a descending range.
		{&lengthMatch, 0, "--length 4:3", "length: bad value for option \"--length\" near \"3\", or out of range (4-65535).\n"},
		{&markMatch, 0, "--mark 1/2/3", "mark: trailing garbage after value for option \"--mark\".\n"},
		{&markMatch, 0, "--mark 1/x", "mark: bad integer value for option \"--mark\", or out of range.\n"},
		{&iprangeMatch, 0, "--src-range 10.0.0.1-", "iprange: Bad value for \"--src-range\" option: \"\""},
		{&iprangeMatch, 0, "--dst-range 1.2.3.4-1.2.3.5-1.2.3.6", "iprange: Bad value for \"--dst-range\" option: \"1.2.3.5-1.2.3.6\""},
		{&iprangeMatch, 0, "", "iprange match: You must specify `--src-range' or `--dst-range'"},
		{&macMatch, 0, "--mac-source 001:0:0:0:0:0", "Invalid MAC address specified."},
		{&macMatch, 0, "--mac-source 1:2:3:4:5:6:", "Invalid MAC address specified."},
		{&pkttypeMatch, 0, "--pkt-type foo", "Bad packet type 'foo'"},
		{&ttlMatch, 0, "! --ttl-lt 6", "ttl: option \"--ttl-lt\" cannot be inverted.\n"},
		{&ttlMatch, 0, "--ttl-lt 6 --ttl-gt 3", "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-gt\".\n"},
		{&ttlMatch, 0, "--ttl 3 --ttl-lt 6", "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-eq\".\n"},
		{&ttlMatch, 0, "--ttl-eq 3 --ttl 6", "ttl: option \"--ttl-eq\" can only be used once.\n"},
		{&ttlMatch, 0, "--ttl-lt 7x", "ttl: bad value for option \"--ttl-lt\", or out of range (0-255).\n"},
		{&ttlMatch, 0, "--ttl 300", "ttl: bad value for option \"--ttl-eq\", or out of range (0-255).\n"},
		{&ttlMatch, 0, "", "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt"},
	}
	for _, tc := range tests {
		var words []string
		if tc.args != "" {
			words = splitArgs(tc.args)
		}
		_, _, err := buildExt(tc.def, tc.proto, words...)
		if err == nil {
			t.Errorf("%s %s: accepted", tc.def.Name, tc.args)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s %s: error %q, want %q", tc.def.Name, tc.args, err.Error(), tc.want)
		}
	}
}
