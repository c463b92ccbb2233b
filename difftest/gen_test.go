package difftest

import (
	"fmt"
	"math/rand"
	"strings"
)

// Random rule generation: one generator per extension, written from the
// extensions' option grammar (libxt_*.c / iptables-extensions(8) for
// 1.8.9). Only extensions registered in nfgo's xt registry when the test
// runs are used; an extension without an entry here is simply not
// generated. Values are mostly valid, with a small share of out-of-range or
// malformed ones so that error paths get compared too.

type gen struct {
	r *rand.Rand
}

func (g *gen) n(k int) int              { return g.r.Intn(k) }
func (g *gen) p(prob float64) bool      { return g.r.Float64() < prob }
func (g *gen) pick(xs ...string) string { return xs[g.r.Intn(len(xs))] }

// bad is the share of deliberately wrong values.
const bad = 0.03

// num is a number in [lo,hi], now and then outside it or in hex.
func (g *gen) num(lo, hi uint64) string {
	if g.p(bad) {
		return g.pick(fmt.Sprint(hi+1), "-1", "x1", "", fmt.Sprint(hi*2+7))
	}
	v := lo
	if hi > lo {
		switch g.n(4) {
		case 0:
			v = lo
		case 1:
			v = hi
		default:
			v = lo + uint64(g.r.Int63n(int64(hi-lo+1)))
		}
	}
	if g.p(0.15) {
		return fmt.Sprintf("0x%x", v)
	}
	return fmt.Sprint(v)
}

// inv returns "!" now and then.
func (g *gen) inv(prob float64) []string {
	if g.p(prob) {
		return []string{"!"}
	}
	return nil
}

func (g *gen) port() string {
	switch g.n(6) {
	case 0:
		return g.pick("ssh", "http", "https", "domain", "ntp", "smtp", "telnet", "ftp", "mysql", "www")
	case 1:
		if g.p(bad * 3) {
			return g.pick("65536", "nosuchservice", "-5", "1:2:3")
		}
		return g.pick("0", "1", "65535", "1023", "1024")
	default:
		return fmt.Sprint(g.n(65536))
	}
}

func (g *gen) portRange() string {
	switch g.n(5) {
	case 0:
		a, b := g.n(65536), g.n(65536)
		return fmt.Sprintf("%d:%d", a, b) // maybe inverted order
	case 1:
		return fmt.Sprintf("%d:", 1+g.n(60000))
	case 2:
		return fmt.Sprintf(":%d", 1+g.n(60000))
	default:
		return g.port()
	}
}

func (g *gen) ip() string {
	switch g.n(8) {
	case 0:
		return g.pick("0.0.0.0", "255.255.255.255", "127.0.0.1", "localhost", "10.0.0.1", "192.168.1.1")
	case 1:
		if g.p(bad * 5) {
			return g.pick("1.2.3", "300.1.1.1", "1.2.3.4.5", "nosuchhost.invalid", "::1")
		}
		return "172.16.0.1"
	default:
		return fmt.Sprintf("%d.%d.%d.%d", 1+g.n(223), g.n(256), g.n(256), g.n(256))
	}
}

func (g *gen) cidr() string {
	a := g.ip()
	switch g.n(5) {
	case 0:
		return a
	case 1:
		return a + "/" + g.pick("255.255.255.0", "255.255.0.0", "255.0.255.0", "0.0.0.0", "255.255.255.255")
	default:
		if g.p(bad) {
			return a + "/33"
		}
		return fmt.Sprintf("%s/%d", a, g.n(33))
	}
}

func (g *gen) mark() string {
	v := fmt.Sprintf("0x%x", g.r.Uint32()>>uint(g.n(32)))
	if g.p(0.3) {
		v = fmt.Sprint(g.n(100000))
	}
	if g.p(0.4) {
		v += fmt.Sprintf("/0x%x", g.r.Uint32()>>uint(g.n(32)))
	}
	return v
}

func (g *gen) text(max int) string {
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-:.[]/"
	n := 1 + g.n(max)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(alpha[g.n(len(alpha))])
	}
	s := b.String()
	if g.p(0.05) {
		s += g.pick(`"`, `'`, `\`, "$x", "!")
	}
	return s
}

func (g *gen) list(items []string, max int) string {
	n := 1 + g.n(max)
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, items[g.n(len(items))])
	}
	return strings.Join(out, ",")
}

func (g *gen) rate() string {
	n := 1 + g.n(1000)
	if g.p(bad) {
		return g.pick("0/sec", "10/year", "abc", "10/")
	}
	return fmt.Sprintf("%d/%s", n, g.pick("sec", "second", "s", "minute", "m", "hour", "h", "day", "d"))
}

// A rule being generated.
type ruleCtx struct {
	table, chain string
	proto        string // "" none
}

// extGen describes where an extension fits and makes its options (the
// words after "-m NAME" or "-j NAME").
type extGen struct {
	proto  []string // one of these -p is needed
	tables []string // allowed tables (nil: any)
	chains []string // allowed built-in chains (nil: any)
	opts   func(g *gen, c *ruleCtx) []string
}

func opt(name string, val ...string) []string { return append([]string{"--" + name}, val...) }

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// some appends each option with probability prob (at least one when
// none was picked and force is set).
func (g *gen) some(prob float64, force bool, opts ...func() []string) []string {
	var out []string
	for _, o := range opts {
		if g.p(prob) {
			out = append(out, o()...)
		}
	}
	if len(out) == 0 && force {
		out = opts[g.n(len(opts))]()
	}
	return out
}

var inChains = []string{"PREROUTING", "INPUT", "FORWARD"}
var outChains = []string{"FORWARD", "OUTPUT", "POSTROUTING"}

var matchGens = map[string]extGen{
	"tcp": {proto: []string{"tcp", "6"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.4, false,
			func() []string { return cat(g.inv(0.2), opt("sport", g.portRange())) },
			func() []string { return cat(g.inv(0.2), opt(g.pick("dport", "destination-port"), g.portRange())) },
			func() []string {
				fl := []string{"SYN", "ACK", "FIN", "RST", "URG", "PSH", "ALL", "NONE"}
				return cat(g.inv(0.2), opt("tcp-flags", g.list(fl, 3), g.list(fl, 2)))
			},
			func() []string { return cat(g.inv(0.2), opt("syn")) },
			func() []string { return cat(g.inv(0.2), opt("tcp-option", g.num(0, 255))) },
		)
	}},
	"udp": {proto: []string{"udp", "17"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.5, false,
			func() []string { return cat(g.inv(0.2), opt(g.pick("sport", "source-port"), g.portRange())) },
			func() []string { return cat(g.inv(0.2), opt("dport", g.portRange())) },
		)
	}},
	"icmp": {proto: []string{"icmp", "1"}, opts: func(g *gen, c *ruleCtx) []string {
		t := g.pick("echo-request", "echo-reply", "destination-unreachable", "port-unreachable",
			"any", "8", "0", "3/3", "11/0", "host-unreachable", "timestamp-request", "redirect",
			"ttl-exceeded", "255", "3/255", "parameter-problem")
		if g.p(bad) {
			t = g.pick("256", "nosuch", "3/", "3/256")
		}
		return cat(g.inv(0.2), opt("icmp-type", t))
	}},
	"addrtype": {opts: func(g *gen, c *ruleCtx) []string {
		types := []string{"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
			"BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"}
		o := g.some(0.6, true,
			func() []string { return cat(g.inv(0.2), opt("src-type", g.list(types, 3))) },
			func() []string { return cat(g.inv(0.2), opt("dst-type", g.list(types, 3))) },
		)
		if g.p(0.2) {
			o = append(o, opt(g.pick("limit-iface-in", "limit-iface-out"))...)
		}
		return o
	}},
	"comment": {opts: func(g *gen, c *ruleCtx) []string {
		return opt("comment", g.text(40))
	}},
	"connlimit": {opts: func(g *gen, c *ruleCtx) []string {
		o := cat(g.inv(0.1), opt(g.pick("connlimit-upto", "connlimit-above"), g.num(0, 1000)))
		return cat(o, g.some(0.3, false,
			func() []string { return opt("connlimit-mask", g.num(0, 32)) },
			func() []string { return opt(g.pick("connlimit-saddr", "connlimit-daddr")) },
		))
	}},
	"connmark": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.2), opt("mark", g.mark()))
	}},
	"mark": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.2), opt("mark", g.mark()))
	}},
	"conntrack": {opts: func(g *gen, c *ruleCtx) []string {
		states := []string{"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT"}
		status := []string{"NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"}
		return g.some(0.3, true,
			func() []string { return cat(g.inv(0.2), opt("ctstate", g.list(states, 3))) },
			func() []string { return cat(g.inv(0.2), opt("ctproto", g.pick("tcp", "udp", "6", "icmp", "47"))) },
			func() []string { return cat(g.inv(0.2), opt("ctorigsrc", g.cidr())) },
			func() []string { return cat(g.inv(0.2), opt("ctorigdst", g.cidr())) },
			func() []string { return cat(g.inv(0.2), opt("ctreplsrc", g.cidr())) },
			func() []string { return cat(g.inv(0.2), opt("ctrepldst", g.cidr())) },
			func() []string { return cat(g.inv(0.2), opt("ctstatus", g.list(status, 2))) },
			func() []string {
				return cat(g.inv(0.2), opt("ctexpire", g.pick(g.num(0, 1e6), g.num(0, 100)+":"+g.num(100, 5000))))
			},
			func() []string {
				return cat(g.inv(0.2), opt(g.pick("ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport"), g.portRange()))
			},
			func() []string { return opt("ctdir", g.pick("ORIGINAL", "REPLY")) },
		)
	}},
	"state": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.2), opt("state", g.list([]string{"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED"}, 3)))
	}},
	"dscp": {opts: func(g *gen, c *ruleCtx) []string {
		if g.p(0.5) {
			return cat(g.inv(0.2), opt("dscp", g.num(0, 63)))
		}
		return cat(g.inv(0.2), opt("dscp-class", g.pick("BE", "EF", "AF11", "AF23", "AF41", "CS0", "CS7")))
	}},
	"hashlimit": {opts: func(g *gen, c *ruleCtx) []string {
		o := cat(opt(g.pick("hashlimit-upto", "hashlimit-above", "hashlimit"), g.rate()),
			opt("hashlimit-name", fmt.Sprintf("hl%d", g.n(1000))))
		return cat(o, g.some(0.3, false,
			func() []string { return opt("hashlimit-burst", g.num(1, 10000)) },
			func() []string {
				return opt("hashlimit-mode", g.list([]string{"srcip", "dstip", "srcport", "dstport"}, 2))
			},
			func() []string { return opt("hashlimit-srcmask", g.num(0, 32)) },
			func() []string { return opt("hashlimit-dstmask", g.num(0, 32)) },
			func() []string { return opt("hashlimit-htable-size", g.num(1, 65536)) },
			func() []string { return opt("hashlimit-htable-max", g.num(1, 65536)) },
			func() []string { return opt("hashlimit-htable-expire", g.num(1, 100000)) },
			func() []string { return opt("hashlimit-htable-gcinterval", g.num(1, 100000)) },
		))
	}},
	"helper": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.2), opt("helper", g.pick("ftp", "sip", "irc", "ftp-2121", "tftp")))
	}},
	"iprange": {opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.6, true,
			func() []string { return cat(g.inv(0.2), opt("src-range", g.ip()+"-"+g.ip())) },
			func() []string { return cat(g.inv(0.2), opt("dst-range", g.ip()+"-"+g.ip())) },
		)
	}},
	"length": {opts: func(g *gen, c *ruleCtx) []string {
		v := g.num(0, 65535)
		if g.p(0.5) {
			v += ":" + g.num(0, 65535)
		}
		return cat(g.inv(0.2), opt("length", v))
	}},
	"quota": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.3), opt("quota", g.pick(g.num(0, 1<<20), "0", "18446744073709551615", "18446744073709551616", "-1", "0x10")))
	}},
	"ecn": {opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.5, true,
			func() []string { return cat(g.inv(0.3), opt("ecn-tcp-cwr")) },
			func() []string { return cat(g.inv(0.3), opt("ecn-tcp-ece")) },
			func() []string { return cat(g.inv(0.3), opt("ecn-ip-ect", g.pick("0", "1", "2", "3", "4"))) },
		)
	}},
	"limit": {opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.6, false,
			func() []string { return opt("limit", g.rate()) },
			func() []string { return opt("limit-burst", g.num(1, 10000)) },
		)
	}},
	"mac": {chains: inChains, opts: func(g *gen, c *ruleCtx) []string {
		m := fmt.Sprintf("%02x:%02X:%02x:%02x:%02x:%02x", g.n(256), g.n(256), g.n(256), g.n(256), g.n(256), g.n(256))
		if g.p(bad) {
			m = "00:11:22:33:44"
		}
		return cat(g.inv(0.2), opt("mac-source", m))
	}},
	"multiport": {proto: []string{"tcp", "udp"}, opts: func(g *gen, c *ruleCtx) []string {
		var ports []string
		for i := 0; i < 1+g.n(6); i++ {
			if g.p(0.3) {
				ports = append(ports, fmt.Sprintf("%d:%d", g.n(30000), 30000+g.n(30000)))
			} else {
				ports = append(ports, g.port())
			}
		}
		return cat(g.inv(0.2), opt(g.pick("sports", "dports", "ports", "source-ports", "destination-ports"), strings.Join(ports, ",")))
	}},
	"owner": {chains: []string{"OUTPUT", "POSTROUTING"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.4, true,
			func() []string {
				return cat(g.inv(0.2), opt("uid-owner", g.pick("0", "root", "nobody", "1000", "10-20", "daemon")))
			},
			func() []string {
				return cat(g.inv(0.2), opt("gid-owner", g.pick("0", "root", "100", "5-50", "nogroup")))
			},
			func() []string { return cat(g.inv(0.2), opt("socket-exists")) },
		)
	}},
	"pkttype": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.2), opt("pkt-type", g.pick("unicast", "broadcast", "multicast", "host", "Broadcast")))
	}},
	"recent": {opts: func(g *gen, c *ruleCtx) []string {
		o := cat(g.inv(0.1), opt(g.pick("set", "rcheck", "update", "remove")))
		return cat(o, g.some(0.35, false,
			func() []string { return opt("seconds", g.num(1, 100000)) },
			func() []string { return opt("hitcount", g.num(1, 30)) },
			func() []string { return opt("name", g.pick("DEFAULT", "SSH", "web_pool", "x")) },
			func() []string { return opt(g.pick("rsource", "rdest")) },
			func() []string { return opt("rttl") },
			func() []string { return opt("mask", g.pick("255.255.255.0", "255.255.255.255", "255.0.0.0")) },
			func() []string { return opt("reap") },
		))
	}},
	"set": {opts: func(g *gen, c *ruleCtx) []string {
		o := cat(g.inv(0.2), opt("match-set", g.pick("gs_ip", "gs_net", "gs_ipport"), g.pick("src", "dst", "src,dst", "dst,src")))
		return cat(o, g.some(0.15, false,
			func() []string { return opt("return-nomatch") },
			func() []string { return cat(g.inv(0.5), opt("update-counters")) },
			func() []string { return cat(g.inv(0.5), opt("update-subcounters")) },
			func() []string {
				return cat(g.inv(0.3), opt(g.pick("packets-eq", "packets-lt", "packets-gt"), g.num(0, 1000)))
			},
			func() []string {
				return cat(g.inv(0.3), opt(g.pick("bytes-eq", "bytes-lt", "bytes-gt"), g.num(0, 100000)))
			},
		))
	}},
	"statistic": {opts: func(g *gen, c *ruleCtx) []string {
		if g.p(0.5) {
			return cat(opt("mode", "random"), g.inv(0.2), opt("probability", g.pick("0.5", "0.1", "1", "0", "0.333", "0.99999")))
		}
		return cat(opt("mode", "nth"), g.inv(0.2), opt("every", g.num(1, 100)), opt("packet", g.num(0, 0)))
	}},
	"string": {opts: func(g *gen, c *ruleCtx) []string {
		o := opt("algo", g.pick("bm", "kmp"))
		if g.p(0.7) {
			o = cat(o, g.inv(0.2), opt("string", g.text(20)))
		} else {
			o = cat(o, g.inv(0.2), opt("hex-string", g.pick("|41 42 43|", "abc|0d0a|", "|00|", "GET /|20|")))
		}
		return cat(o, g.some(0.2, false,
			func() []string { return opt("from", g.num(0, 1000)) },
			func() []string { return opt("to", g.num(0, 65535)) },
			func() []string { return opt("icase") },
		))
	}},
	"tcpmss": {proto: []string{"tcp"}, opts: func(g *gen, c *ruleCtx) []string {
		v := g.num(0, 65535)
		if g.p(0.4) {
			v += ":" + g.num(0, 65535)
		}
		return cat(g.inv(0.2), opt("mss", v))
	}},
	"time": {opts: func(g *gen, c *ruleCtx) []string {
		hm := func() string { return fmt.Sprintf("%02d:%02d", g.n(24), g.n(60)) }
		return g.some(0.3, true,
			func() []string { return opt("timestart", hm()) },
			func() []string { return opt("timestop", hm()+g.pick("", ":59", ":00")) },
			func() []string {
				return cat(g.inv(0.2), opt("weekdays", g.list([]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "1", "7"}, 3)))
			},
			func() []string {
				return cat(g.inv(0.2), opt("monthdays", g.list([]string{"1", "2", "15", "28", "31"}, 3)))
			},
			func() []string {
				return opt("datestart", fmt.Sprintf("20%02d-%02d-%02d", 10+g.n(20), 1+g.n(12), 1+g.n(28)))
			},
			func() []string {
				return opt("datestop", fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02d", 10+g.n(20), 1+g.n(12), 1+g.n(28), g.n(24), g.n(60), g.n(60)))
			},
			func() []string { return opt(g.pick("utc", "kerneltz", "localtz")) },
			func() []string { return opt("contiguous") },
		)
	}},
	"tos": {opts: func(g *gen, c *ruleCtx) []string {
		v := g.pick("Minimize-Delay", "Maximize-Throughput", "Maximize-Reliability", "Minimize-Cost", "Normal-Service",
			"0x10", "0x08/0x0f", "16", "0xff/0xff")
		return cat(g.inv(0.2), opt("tos", v))
	}},
	"ttl": {opts: func(g *gen, c *ruleCtx) []string {
		return cat(g.inv(0.2), opt(g.pick("ttl-eq", "ttl-lt", "ttl-gt"), g.num(0, 255)))
	}},
}

var targetGens = map[string]extGen{
	"LOG": {opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.3, false,
			func() []string {
				return opt("log-level", g.pick("0", "7", "4", "emerg", "alert", "crit", "err", "error", "warning", "warn", "notice", "info", "debug", "panic"))
			},
			func() []string { return opt("log-prefix", g.text(29)) },
			func() []string { return opt("log-tcp-sequence") },
			func() []string { return opt("log-tcp-options") },
			func() []string { return opt("log-ip-options") },
			func() []string { return opt("log-uid") },
			func() []string { return opt("log-macdecode") },
		)
	}},
	"REJECT": {chains: []string{"INPUT", "FORWARD", "OUTPUT"}, opts: func(g *gen, c *ruleCtx) []string {
		if g.p(0.3) {
			return nil
		}
		w := g.pick("icmp-net-unreachable", "icmp-host-unreachable", "icmp-port-unreachable", "icmp-proto-unreachable",
			"icmp-net-prohibited", "icmp-host-prohibited", "icmp-admin-prohibited", "net-unreach", "host-unreach",
			"port-unreach", "proto-unreach", "net-prohib", "host-prohib", "admin-prohib")
		if c.proto == "tcp" && g.p(0.5) {
			w = g.pick("tcp-reset", "tcp-rst")
		}
		return opt("reject-with", w)
	}},
	"DNAT": {tables: []string{"nat"}, chains: []string{"PREROUTING", "OUTPUT"}, opts: func(g *gen, c *ruleCtx) []string {
		return cat(opt("to-destination", natRange(g, c)), g.some(0.15, false,
			func() []string { return opt("random") },
			func() []string { return opt("persistent") }))
	}},
	"SNAT": {tables: []string{"nat"}, chains: []string{"POSTROUTING", "INPUT"}, opts: func(g *gen, c *ruleCtx) []string {
		return cat(opt(g.pick("to-source", "to-source", "to"), natRange(g, c)), g.some(0.15, false,
			func() []string { return opt("random") },
			func() []string { return opt("random-fully") },
			func() []string { return opt("persistent") }))
	}},
	"MASQUERADE": {tables: []string{"nat"}, chains: []string{"POSTROUTING"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.3, false,
			func() []string { return opt("to-ports", portSpan(g)) },
			func() []string { return opt("random") },
			func() []string { return opt("random-fully") })
	}},
	"REDIRECT": {tables: []string{"nat"}, chains: []string{"PREROUTING", "OUTPUT"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.5, false,
			func() []string { return opt(g.pick("to-ports", "to-port"), portSpan(g)) },
			func() []string { return opt("random") })
	}},
	"NETMAP": {tables: []string{"nat"}, opts: func(g *gen, c *ruleCtx) []string {
		return opt("to", g.cidr())
	}},
	"MARK": {tables: []string{"mangle"}, opts: func(g *gen, c *ruleCtx) []string {
		return opt(g.pick("set-mark", "set-xmark", "and-mark", "or-mark", "xor-mark"), g.mark())
	}},
	"CONNMARK": {opts: func(g *gen, c *ruleCtx) []string {
		switch g.n(3) {
		case 0:
			return opt(g.pick("set-mark", "set-xmark", "and-mark", "or-mark", "xor-mark"), g.mark())
		default:
			o := opt(g.pick("save-mark", "restore-mark"))
			return cat(o, g.some(0.3, false,
				func() []string { return opt("mask", g.mark()) },
				func() []string { return opt("nfmask", fmt.Sprintf("0x%x", g.r.Uint32())) },
				func() []string { return opt("ctmask", fmt.Sprintf("0x%x", g.r.Uint32())) }))
		}
	}},
	"NOTRACK": {tables: []string{"raw"}, opts: func(g *gen, c *ruleCtx) []string { return nil }},
	"TRACE":   {tables: []string{"raw"}, opts: func(g *gen, c *ruleCtx) []string { return nil }},
	"CT": {tables: []string{"raw"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.3, true,
			func() []string { return opt("notrack") },
			func() []string {
				return opt(g.pick("zone", "zone-orig", "zone-reply"), g.pick(g.num(0, 65535), "mark"))
			},
			func() []string {
				return opt("ctevents", g.list([]string{"new", "related", "destroy", "reply", "assured", "protoinfo", "helper", "mark", "natseqinfo", "secmark"}, 3))
			},
			func() []string { return opt("expevents", "new") })
	}},
	"DSCP": {tables: []string{"mangle"}, opts: func(g *gen, c *ruleCtx) []string {
		if g.p(0.5) {
			return opt("set-dscp", g.num(0, 63))
		}
		return opt("set-dscp-class", g.pick("EF", "AF11", "af42", "CS3", "BE"))
	}},
	"TOS": {tables: []string{"mangle"}, opts: func(g *gen, c *ruleCtx) []string {
		switch g.n(3) {
		case 0:
			return opt("set-tos", g.pick("Minimize-Delay", "Normal-Service", "0x10", "0x10/0x3f", "0xff"))
		default:
			return opt(g.pick("and-tos", "or-tos", "xor-tos"), g.pick("0x10", "0x3f", "255", "0"))
		}
	}},
	"TTL": {tables: []string{"mangle"}, opts: func(g *gen, c *ruleCtx) []string {
		return opt(g.pick("ttl-set", "ttl-inc", "ttl-dec"), g.pick(g.num(0, 255), "0", "1", "256"))
	}},
	"CHECKSUM": {tables: []string{"mangle"}, opts: func(g *gen, c *ruleCtx) []string {
		return opt("checksum-fill")
	}},
	"ECN": {tables: []string{"mangle"}, opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.5, true,
			func() []string { return opt("ecn-tcp-remove") },
			func() []string { return opt("ecn-tcp-cwr", g.pick("0", "1", "2")) },
			func() []string { return opt("ecn-tcp-ece", g.pick("0", "1")) },
			func() []string { return opt("ecn-ip-ect", g.pick("0", "1", "3", "4")) },
		)
	}},
	"TCPMSS": {proto: []string{"tcp"}, tables: []string{"mangle"}, chains: []string{"FORWARD", "OUTPUT", "POSTROUTING"}, opts: func(g *gen, c *ruleCtx) []string {
		if g.p(0.5) {
			return opt("clamp-mss-to-pmtu")
		}
		return opt("set-mss", g.num(0, 65535))
	}},
	"NFLOG": {opts: func(g *gen, c *ruleCtx) []string {
		return g.some(0.3, false,
			func() []string { return opt("nflog-group", g.num(0, 65535)) },
			func() []string { return opt("nflog-prefix", g.text(60)) },
			func() []string { return opt("nflog-range", g.num(0, 100000)) },
			func() []string { return opt("nflog-size", g.num(0, 100000)) },
			func() []string { return opt("nflog-threshold", g.num(1, 100)) })
	}},
	"NFQUEUE": {opts: func(g *gen, c *ruleCtx) []string {
		var o []string
		if g.p(0.5) {
			o = opt("queue-num", g.num(0, 65535))
		} else if g.p(0.6) {
			a := g.n(1000)
			o = opt("queue-balance", fmt.Sprintf("%d:%d", a, a+g.n(10)))
		}
		return cat(o, g.some(0.3, false,
			func() []string { return opt("queue-bypass") },
			func() []string { return opt("queue-cpu-fanout") }))
	}},
	"SET": {opts: func(g *gen, c *ruleCtx) []string {
		o := opt(g.pick("add-set", "del-set"), g.pick("gs_ip", "gs_net", "gs_to"), g.pick("src", "dst"))
		return cat(o, g.some(0.2, false,
			func() []string { return opt("exist") },
			func() []string { return opt("timeout", g.num(0, 100000)) }))
	}},
}

func portSpan(g *gen) string {
	a := 1 + g.n(65535)
	if g.p(0.4) {
		return fmt.Sprintf("%d-%d", a, a+g.n(65536-a))
	}
	return fmt.Sprint(a)
}

func natRange(g *gen, c *ruleCtx) string {
	s := g.ip()
	if g.p(0.3) {
		s += "-" + g.ip()
	}
	if (c.proto == "tcp" || c.proto == "udp") && g.p(0.5) || g.p(0.05) {
		s += ":" + portSpan(g)
	}
	if g.p(0.05) {
		s = ":" + portSpan(g)
	}
	return s
}
