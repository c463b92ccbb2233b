package difftest

import (
	"strings"
	"testing"
)

// Scenario c: wrong command lines. Each is compared (message and exit
// status) and then both rulesets must still be the same (iptables-save -c).

const badSetup = `
	iptables -N c1
	iptables -N c2
	iptables -N full
	iptables -A full -j ACCEPT
	iptables -N refd
	iptables -A INPUT -j refd
	iptables -A c1 -j c2
	iptables -A INPUT -s 10.0.0.1 -p tcp --dport 22 -j DROP
	iptables -A OUTPUT -d 10.9.9.9 -j ACCEPT
	iptables -t nat -N natchain
	iptables -t nat -A PREROUTING -p tcp --dport 8080 -j natchain
`

var badCommands = []string{
	// unknown options, missing arguments
	`-A INPUT --bogus`,
	`-A INPUT -z`,
	`-A INPUT -p tcp --dport`,
	`-A INPUT -s`,
	`-A`,
	`-t`,
	``,
	`-A INPUT -p tcp --tcp-flags SYN`,
	`-A INPUT -j`,
	`-I`,
	// bad ports, addresses, masks, protocols
	`-A INPUT -p tcp --dport 70000`,
	`-A INPUT -p tcp --dport 10:5:3`,
	`-A INPUT -p tcp --sport nosuchservice`,
	`-A INPUT -p udp --dport -1`,
	`-A INPUT -s 1.2.3.4/33`,
	`-A INPUT -s 300.1.1.1`,
	`-A INPUT -d 1.2.3.4/255.0.255.0x`,
	`-A INPUT -d 1.2.3.4/-1`,
	`-A INPUT -s 1.2.3`,
	`-A INPUT -p nosuchproto`,
	`-A INPUT -p 256`,
	`-A INPUT -i averyveryverylongname0 -j ACCEPT`,
	`-A INPUT -p icmp --icmp-type nosuch`,
	// "!" misuse
	`-A INPUT ! ! -s 1.2.3.4`,
	`-A INPUT ! -j ACCEPT`,
	`-A INPUT -s 1.2.3.4 !`,
	`-A INPUT ! -p tcp --dport 80`,
	`! -A INPUT`,
	`-A INPUT -s 1.2.3.4,5.6.7.8 ! -d 1.1.1.1`,
	// repeated or conflicting options and commands
	`-A INPUT -p tcp -p udp`,
	`-A INPUT -s 1.2.3.4 -s 5.6.7.8`,
	`-A INPUT -j ACCEPT -j DROP`,
	`-A INPUT -A OUTPUT`,
	`-L -A INPUT`,
	`-A INPUT -n -j ACCEPT`,
	`-A INPUT --line-numbers -j ACCEPT`,
	`-A INPUT -x -j ACCEPT`,
	`-F INPUT -s 1.2.3.4`,
	`-P INPUT DROP -s 1.2.3.4`,
	`-A INPUT -p tcp --syn --tcp-flags SYN SYN`,
	`-W 5 -L`,
	// unknown chain, table, target, match
	`-A NOSUCH -j ACCEPT`,
	`-t nosuch -L`,
	`-t raw -A INPUT -j ACCEPT`,
	`-A PREROUTING -j ACCEPT`,
	`-A INPUT -j NOSUCHTARGET`,
	`-A INPUT -m nosuchmatch`,
	`-A INPUT -m u32 --u32 0`,
	`-F nosuch`,
	`-Z nosuch`,
	`-L nosuch`,
	`-S nosuch`,
	`-X nosuch`,
	`-E nosuch newname`,
	// rule numbers
	`-R INPUT -j ACCEPT`,
	`-R INPUT 99 -j ACCEPT`,
	`-R INPUT 0 -j ACCEPT`,
	`-D INPUT 99`,
	`-D INPUT 0`,
	`-D INPUT -s 9.9.9.9 -j DROP`,
	`-C INPUT -s 9.9.9.9 -j DROP`,
	`-I INPUT 0 -j ACCEPT`,
	`-I INPUT -1 -j ACCEPT`,
	`-I INPUT 99 -j ACCEPT`,
	`-L INPUT 99`,
	`-S INPUT 0`,
	// chains
	`-N INPUT`,
	`-N c1`,
	`-N averyveryverylongchainnamethatistoolong`,
	`-N -bad`,
	`-N ACCEPT`,
	`-E c1 c2`,
	`-E INPUT foo`,
	`-X INPUT`,
	`-X refd`,
	`-X full`,
	`-P c1 DROP`,
	`-P INPUT BOGUS`,
	`-P INPUT RETURN`,
	`-P INPUT c1`,
	// kernel refusals: targets in the wrong table or hook
	`-A INPUT -j DNAT --to-destination 1.2.3.4`,
	`-t mangle -A PREROUTING -j DNAT --to-destination 1.2.3.4`,
	`-t nat -A POSTROUTING -j DNAT --to-destination 1.2.3.4`,
	`-t nat -A OUTPUT -j SNAT --to-source 1.2.3.4`,
	`-t nat -A PREROUTING -j MASQUERADE`,
	`-t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4:80`,
	`-A INPUT -j REJECT --reject-with tcp-reset`,
	`-A INPUT -p udp -j REJECT --reject-with tcp-reset`,
	`-t nat -A PREROUTING -j REJECT`,
	`-A INPUT -j TRACE`,
	`-A INPUT -j NOTRACK`,
	`-t raw -A PREROUTING -j CT --helper nosuchhelper`,
	`-A INPUT -j MARK --set-mark 1`,
	`-t mangle -A OUTPUT -j TCPMSS --set-mss 1400`,
	`-A FORWARD -m owner --uid-owner 0`,
	`-A OUTPUT -m mac --mac-source 00:11:22:33:44:55`,
	`-A INPUT -m tcp --dport 80`,
	`-A INPUT -p udp -m tcp --dport 80`,
	`-A INPUT -m multiport --dports 1,2`,
	`-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16`,
	`-t nat -A natchain -j DROP`,
	`-t nat -A PREROUTING -j DROP`,
	`-t nat -P PREROUTING DROP`,
	`-A refd -j INPUT`,
	`-A INPUT -g INPUT`,
	// loops
	`-A c2 -j c1`,
	`-A c1 -j c1`,
	`-A c2 -g c1`,
	// interfaces in the wrong chains
	`-A OUTPUT -i eth0 -j ACCEPT`,
	`-A INPUT -o eth0 -j ACCEPT`,
	`-t nat -A PREROUTING -o eth0 -j ACCEPT`,
	`-t nat -A POSTROUTING -i eth0 -j ACCEPT`,
	// extension option problems
	`-A INPUT -m limit --limit 1/year`,
	`-A INPUT -m limit --limit-burst 0`,
	`-A INPUT -m state --state BOGUS`,
	`-A INPUT -m comment`,
	`-A INPUT -m mark --mark`,
	`-A INPUT -m mark --mark 1/2/3`,
	`-A INPUT -m conntrack --ctstate NEW --ctstate ESTABLISHED`,
	`-A INPUT -j LOG --log-level 9`,
	`-A INPUT -j LOG --log-prefix 123456789012345678901234567890`,
	`-A INPUT -m recent --set --rcheck`,
	`-A INPUT -m recent --hitcount 100 --rcheck`,
	`-A INPUT -m hashlimit --hashlimit-upto 1/sec`,
	`-A INPUT -m string --string foo`,
	`-A INPUT -m statistic --mode nth --probability 0.5`,
	// not errors, but compared all the same
	`--version`,
	`-V`,
	`-h`,
}

func TestBadCommands(t *testing.T) {
	requireNetns(t)
	p := newPair(t, newScore(t, "c/bad-commands"))
	p.script(badSetup)
	p.unchanged("setup")
	for _, c := range badCommands {
		p.ipt(words(c)...)
		p.unchanged("iptables " + c)
	}
	// A few joined and long-form variants.
	for _, c := range []string{
		`-nL NOSUCH`, `--append INPUT --jump`, `--list-rules nosuch`, `--policy c1 ACCEPT`,
		`--delete-chain refd`, `--rename-chain INPUT x`, `-Anosuch`, `--protocol=tcp -A INPUT --dport=99999`,
	} {
		p.ipt(words(c)...)
		p.unchanged("iptables " + c)
	}
	if testing.Verbose() {
		t.Logf("%d bad command lines compared", len(badCommands)+8)
	}
	_ = strings.TrimSpace
}
