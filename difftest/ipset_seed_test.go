package difftest

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/tools/ipset"
	"github.com/nfgo/nfgo/tools/iptables"
)

// Seed article 000's whitelist and blocklist, with nfgo's own ipset on the
// nfgo side (not the kernel's sets): every command's output and exit
// status equal the real ipset's and iptables-legacy's. Hash order depends
// on the kernel's random initval, so member lines are compared sorted and
// the initval and memory figures are masked.
func TestSeedSetsWithNfgoIpset(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("differential tests need root, network namespaces and iptables-legacy: " + why)
	}
	ns := netns.New(t)
	dir := t.TempDir()
	script := []string{
		"ipset create drds_whitelist_ips hash:net",
		"ipset add drds_whitelist_ips 127.0.0.1",
		"ipset add drds_whitelist_ips 100.1.2.0/24",
		"iptables -N drds_whitelist",
		"iptables -I INPUT 1 -p tcp --dport 1234 -j drds_whitelist",
		"iptables -A drds_whitelist -m set --match-set drds_whitelist_ips src -p tcp --dport 1234 -j ACCEPT",
		"iptables -A drds_whitelist -p tcp --dport 1234 -j LOG --log-prefix '[drds_reject] ' --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options",
		"iptables -A drds_whitelist -p tcp --dport 1234 -j REJECT --reject-with icmp-host-prohibited",
		"iptables -L -n --line-numbers",
		"ipset list drds_whitelist_ips",
		"ipset destroy drds_whitelist_ips",
		"ipset rename drds_whitelist_ips other",
		"ipset del drds_whitelist_ips 127.0.0.1",
		"iptables -D drds_whitelist 3",
		"iptables -S drds_whitelist",
		"iptables -A drds_whitelist -m set --match-set nosuchset src -j DROP",
		"ipset create block_ips hash:net timeout 259200",
		"ipset add block_ips 10.176.2.245",
		"iptables -N drds_rule",
		"iptables -I INPUT 1 -m set --match-set block_ips src -p tcp -j drds_rule",
		"iptables -I drds_rule -m set --match-set block_ips src -j LOG --log-prefix '[drds_reject] ' --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options",
		"iptables -A drds_rule -m set --match-set block_ips src -p tcp -j REJECT --reject-with icmp-host-prohibited",
		"iptables-save",
		"ipset list",
	}
	mask := regexp.MustCompile(`initval 0x[0-9a-f]+|Size in memory: \d+|timeout \d+$`)
	norm := func(s string) string {
		var lines, members []string
		inMembers := false
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "# ") {
				continue
			}
			l = mask.ReplaceAllString(l, "")
			if strings.HasPrefix(l, "Members:") {
				inMembers = true
				lines = append(lines, l)
				continue
			}
			if inMembers && l != "" && !strings.HasPrefix(l, "Name:") {
				members = append(members, l)
				continue
			}
			sort.Strings(members)
			lines = append(lines, members...)
			members, inMembers = nil, false
			lines = append(lines, l)
		}
		sort.Strings(members)
		return strings.Join(append(lines, members...), "\n")
	}
	same, differ := 0, 0
	for _, line := range script {
		w := words(line)
		kcmd := append([]string(nil), w...)
		switch w[0] {
		case "iptables":
			kcmd[0] = "iptables-legacy"
		case "iptables-save":
			kcmd[0] = "iptables-legacy-save"
		}
		ko, ke, kc := ns.Run(kcmd...)
		var o, e bytes.Buffer
		var nc int
		switch w[0] {
		case "ipset":
			nc = ipset.Main(w[1:], &ipset.Env{Stdout: &o, Stderr: &e, StateDir: dir})
		case "iptables":
			nc = iptables.Main(w[1:], &iptables.Env{Stdout: &o, Stderr: &e, StateDir: dir})
		case "iptables-save":
			nc = iptables.SaveMain(w[1:], &iptables.Env{Stdout: &o, Stderr: &e, StateDir: dir})
		}
		if kc != nc || norm(ko) != norm(o.String()) || ke != e.String() {
			differ++
			t.Errorf("%s:\nkernel (exit %d):\n%s%s\nnfgo (exit %d):\n%s%s", line, kc, ko, ke, nc, o.String(), e.String())
			continue
		}
		same++
	}
	t.Logf("seed 000 sets with nfgo's ipset: %d commands identical, %d differing", same, differ)
}
