package kerneldiff

import (
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	ctool "github.com/nfgo/nfgo/tools/conntrack"
)

// `nfgo conntrack` against conntrack-tools 1.4.7 on the router's kernel:
// the router tracks TCP connections in several states (one DNATed), UDP
// flows replied and not (one SNATed to another port), pings (MASQUERADEd)
// with CONNMARK marks on some; then the same conntrack command lines run
// on the kernel (in the router) and on nfgo's table after the replay of
// the router's capture: read-only ones first, then -U, -D and -F. Stdout
// (listed lines sorted, timeouts blanked), stderr and exit status must be
// identical.

var ctToolScenario = &Scenario{
	Name: "conntrack-tool",
	NAT:  true,
	Rules: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -j CONNMARK --set-mark 0x5
-A PREROUTING -p udp -m udp --dport 53 -j CONNMARK --set-mark 0x10
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.NET.1.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.NET.2.2:80
-A POSTROUTING -o r1 -p udp -m udp --dport 5000 -j SNAT --to-source 10.NET.2.1:6000
-A POSTROUTING -o r1 -p icmp -j MASQUERADE
COMMIT
`,
}

// ctToolCommands: "C" the client, "S" the server, "RI"/"RO" the router's
// inner and outer addresses are substituted.
var ctToolCommands = []string{
	// Listings and filters.
	"-L", "-L conntrack", "--dump", "-L -p tcp", "-L -p udp", "-L -p icmp", "-L -p 6", "-L -p TCP", "-L -p 47",
	"-L -s C", "-L -d S", "-L -s 10.NET.1.0/24", "-L -d 10.NET.0.0/16", "-L --orig-src C --orig-dst S",
	"-L -r S", "-L -q RO", "-L -q C", "-L -r S -q C", "-L -s C -d RI",
	"-L -p tcp --sport 40000", "-L -p tcp --dport 22", "-L -p tcp --orig-port-dst 8080",
	"-L -p tcp --reply-port-src 80", "-L -p udp --reply-port-dst 6000", "-L -p udp --dport 53 --sport 40001",
	"-L -p tcp --state ESTABLISHED", "-L -p tcp --state SYN_SENT", "-L -p tcp --state SYN_RECV",
	"-L -p tcp --state FIN_WAIT", "-L -p tcp --state LISTEN",
	"-L -p icmp --icmp-type 8", "-L -p icmp --icmp-id 77", "-L -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 78",
	"-L -m 5", "-L -m 0x10", "-L -m 0x10/0x10", "-L --mark 0/0xffffffff", "-L -m 1/1", "-L -m 4/4",
	"-L -w 0", "-L -w 3", "-L --zone 0 -p udp",
	"-L -u ASSURED", "-L -u SEEN_REPLY", "-L -u UNREPLIED", "-L -u !ASSURED", "-L -u ASSURED,SEEN_REPLY",
	"-L -u SEEN_REPLY,!ASSURED", "-L -u UNSET", "-L --status assured",
	"-L -n", "-L -g", "-L -j", "-L --src-nat", "-L -n -g",
	"-L -n RO", "-L -n RO:6000", "-L -n RO:5000", "-L -n 10.NET.2.9", "-L -g S", "-L -g S:80", "-L -g S:81",
	"-L -j RO", "-L -j S", "-L -j S -p tcp", "-L -p icmp -n", "-L -n -p udp",
	"-L -f ipv4", "-L -f ipv6", "-L -f ipv4 -p udp -s C",
	"-L -o extended", "-L -o save", "-L -o extended -p udp", "-L -o userspace", "-L -o ktimestamp", "-L -o save -p icmp",
	"-L -z", "-L dying", "-L unconfirmed", "-L expect", "-L exp", "-Lexpect", "-L -a 1",
	"-C", "-C expect", "-S", "-S expect",
	"-G -p tcp -s C -d S --sport 40000 --dport 22",
	"-G -p tcp -s S -d C --sport 22 --dport 40000",
	"-G -p tcp -r S -q C --reply-port-src 22 --reply-port-dst 40000",
	"-G -p udp -s C -d S --sport 40001 --dport 53",
	"-G -p icmp -s C -d S --icmp-type 8 --icmp-code 0 --icmp-id 77",
	"-G -p icmp -s C -d S --icmp-type 8 --icmp-code 0",
	"-G -p tcp -s C -d S --sport 1 --dport 2",
	"-G -p tcp -s C -d S --sport 40000 --dport 22 -o save",
	"-G -p tcp -s C -d S --sport 40000 --dport 22 -o extended",
	"-G -p tcp -s C -d S -r S --sport 40000 --dport 22",
	// Bad command lines.
	"--bogus", "-x", "-L -p foo", "-L -p tcp --state FOO", "-F -p tcp", "-L --sport 1", "-L bogustable",
	"-G -p tcp -s C -d S", "-L -s 1.2.3.4/33", "-L -o xmlx", "-U expect", "-L -L", "-D -z",
	"-L -d 10.NET.2.0/255.255.255.0", "-L -u FOO", "-L -s C -f ipv6", "-L -r C/24", "-L -s", "-G -p tcp",
	"-L -z -p tcp", "-L --mask-src 255.0.0.0", "-C -p tcp", "-V", "-h", "-h -p tcp", "-L -n C/8",
	// Changes.
	"-U -p tcp --dport 22 -m 7", "-L -m 7", "-U -s C -p tcp --dport 22 -m 7", "-U -s C -p tcp --dport 22 -m 7", "-L -m 7",
	"-U -s C -p udp --dport 9999 -m 0x100/0x100", "-L -p udp", "-U -p icmp -n -m 0x30/0xf0",
	"-U -f ipv4 -p icmp -n --icmp-id 78 -m 0x30/0xf0", "-L -p icmp", "-U -d S -p tcp --dport 1 -m 1", "-U -m 0",
	"-D -p tcp --state SYN_SENT", "-D -p tcp --state SYN_SENT", "-D -p icmp -u UNREPLIED",
	"-D -m 0x10", "-D -o save -p udp --dport 9999", "-L", "-C",
	"-F", "-L", "-C", "-F expect", "-D",
}

// ctToolExcluded are left out of the comparison, with the reason.
var ctToolExcluded = map[string]string{
	// The kernel counts per CPU, on whichever CPU handled each packet;
	// nfgo keeps one set of counters (shown on cpu 0). Not comparable
	// line by line.
	"-S": "per-CPU counters",
}

var timeoutField = regexp.MustCompile(`^-[ADU] -t \d+ `)

// normCT normalises conntrack output for comparison: timeouts blanked
// (the third field of a listing, the fifth with -o extended, -t's value
// with -o save, the first of an expectation), lines sorted.
func normCT(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		switch {
		case timeoutField.MatchString(l):
			f[2] = "_"
		case f[0] == "ipv4" && len(f) > 4:
			f[4] = "_"
		case len(f) > 2 && (f[0] == "tcp" || f[0] == "udp" || f[0] == "icmp" || f[0] == "gre" || f[0] == "unknown"):
			f[2] = "_"
		case len(f) > 1 && strings.HasPrefix(f[1], "proto="):
			f[0] = "_"
		}
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}

type ctRun struct {
	stdout, stderr string
	code           int
}

func TestKernelConntrackTool(t *testing.T) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Skip("conntrack tool not found")
	}
	tp := NewTopo(t)
	for _, x := range []struct{ ns, dev string }{{tp.C.Name, "c0"}, {tp.R.Name, "r0"}, {tp.R.Name, "r1"}, {tp.S.Name, "s0"}} {
		if err := txChecksumOff(x.ns, x.dev); err != nil {
			t.Skipf("cannot turn off tx checksum offload on %s: %v", x.dev, err)
		}
	}
	quietEnds(t, tp)
	tp.R.MustRun(t, "ip", "neigh", "replace", net4(ip4s(tp, 2, 9)), "lladdr", tp.MACs0, "dev", "r1")
	subst := func(line string) []string {
		names := map[string]string{"RI": net4(tp.RouterIn), "RO": net4(tp.RouterOut), "C": net4(tp.ClientIP), "S": net4(tp.ServerIP)}
		var args []string
		for _, a := range strings.Fields(tp.subst(line)) {
			head, rest := a, ""
			if i := strings.IndexAny(a, ":/"); i >= 0 {
				head, rest = a[:i], a[i:]
			}
			if v, ok := names[head]; ok {
				a = v + rest
			}
			args = append(args, a)
		}
		return args
	}
	kernel := map[int]ctRun{}
	cpus := 1
	sc := *ctToolScenario
	sc.Traffic = func(t *testing.T, tp *Topo) {
		c, r, ro, s := tp.ClientIP, tp.RouterIn, tp.RouterOut, tp.ServerIP
		// ESTABLISHED [ASSURED], marked 5.
		Send(t, tp.C, tcpSeg(c, s, 40000, 22, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 22, 40000, fSYN|fACK, 5000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, s, 40000, 22, fACK, 1001, 5001, 0), tcpSeg(c, s, 40000, 22, fPSH, 1001, 5001, 10))
		Send(t, tp.S, tcpSeg(s, c, 22, 40000, fACK, 5001, 1011, 0))
		// SYN_SENT, SYN_RECV, FIN_WAIT.
		Send(t, tp.C, tcpSeg(c, s, 40010, 23, fSYN, 1000, 0, 0))
		Send(t, tp.C, tcpSeg(c, s, 40011, 24, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 24, 40011, fSYN|fACK, 7000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, s, 40012, 25, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 25, 40012, fSYN|fACK, 8000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, s, 40012, 25, fACK, 1001, 8001, 0))
		Send(t, tp.C, tcpSeg(c, s, 40012, 25, fFIN, 1001, 8001, 0))
		// DNAT to the server's port 80, established.
		Send(t, tp.C, tcpSeg(c, r, 40020, 8080, fSYN, 1000, 0, 0))
		Send(t, tp.S, tcpSeg(s, c, 80, 40020, fSYN|fACK, 9000, 1001, 0))
		Send(t, tp.C, tcpSeg(c, r, 40020, 8080, fACK, 1001, 9001, 0))
		// UDP: replied and marked, unreplied, SNATed to port 6000.
		Send(t, tp.C, udp(c, s, 40001, 53, 10))
		Send(t, tp.S, udp(s, c, 53, 40001, 20))
		Send(t, tp.C, udp(c, s, 40002, 9999, 10))
		Send(t, tp.C, udp(c, s, 40003, 5000, 10))
		Send(t, tp.S, udp(s, ro, 5000, 6000, 10))
		// Pings, MASQUERADEd: the server answers one, nobody the other.
		Send(t, tp.C, ping(c, s, 77, 1, 84))
		Send(t, tp.C, ping(c, ip4s(tp, 2, 9), 78, 1, 84))
		time.Sleep(200 * time.Millisecond)
		if out, _, code := tp.R.Run("conntrack", "-S"); code == 0 {
			cpus = strings.Count(out, "cpu=")
		}
		for i, line := range ctToolCommands {
			if _, ok := ctToolExcluded[line]; ok {
				continue
			}
			o, e, code := tp.R.Run(append([]string{"conntrack"}, subst(line)...)...)
			kernel[i] = ctRun{o, e, code}
		}
	}
	k, frames := RunKernel(t, tp, &sc)
	n := RunNfgo(t, tp, &sc, frames)
	Compare(t, sc.Name, k, n)
	if n.Unforwarded != 0 || n.Unmatched != 0 {
		t.Errorf("%d packets nfgo sent out that the kernel did not, %d the kernel sent that nfgo did not produce", n.Unforwarded, n.Unmatched)
	}
	same, differ := 0, 0
	for i, line := range ctToolCommands {
		if why, ok := ctToolExcluded[line]; ok {
			t.Logf("excluded: conntrack %s (%s)", line, why)
			continue
		}
		var ob, eb strings.Builder
		code := ctool.Main(subst(line), &ctool.Env{Stdout: &ob, Stderr: &eb, Table: n.CT, Now: func() int64 { return n.End }, CPUs: cpus})
		kr := kernel[i]
		ko, no := normCT(kr.stdout), normCT(ob.String())
		if strings.Join(ko, "\n") == strings.Join(no, "\n") && kr.stderr == eb.String() && kr.code == code {
			same++
			continue
		}
		differ++
		t.Errorf("conntrack %s differs\nkernel (exit %d):\n%s\n%s\nnfgo (exit %d):\n%s\n%s", line, kr.code,
			strings.Join(ko, "\n"), kr.stderr, code, strings.Join(no, "\n"), eb.String())
	}
	t.Logf("conntrack tool scoreboard: %d command lines identical, %d differing, %d excluded", same, differ, len(ctToolExcluded))
}
