package conntrack

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	ct "github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

const (
	sec = int64(1e9)
	t0  = int64(1_700_000_000) * sec
	cli = 0x0a000001 // 10.0.0.1
	srv = 0x0a000002 // 10.0.0.2
	dns = 0x0a000003 // 10.0.0.3
)

func feed(t testing.TB, tb *ct.Table, s packet.Spec, now int64) *ct.Conn {
	t.Helper()
	var p packet.Parsed
	if err := p.Decode(packet.Build(&s)); err != nil {
		t.Fatal(err)
	}
	ci, c := tb.In(&p, now, 0)
	if c != nil {
		c, _ = tb.Confirm(c, ci, now)
	}
	return c
}

// testTable: an established SSH connection marked 5, a lone SYN, an
// unreplied DNS query and an unreplied ping. The clock stands one second
// after the last packet.
func testTable(t testing.TB) (*ct.Table, int64) {
	tb := ct.NewTable(ct.DefaultConfig())
	tcp := func(fromCli bool, sport, dport uint16, flags uint8, seq, ack uint32) packet.Spec {
		s := packet.Spec{Src: cli, Dst: srv, SrcPort: sport, DstPort: dport, Proto: packet.ProtoTCP, TCPFlags: flags, Seq: seq, Ack: ack}
		if !fromCli {
			s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, dport, sport
		}
		return s
	}
	ssh := feed(t, tb, tcp(true, 40000, 22, packet.TCPSyn, 1000, 0), t0)
	feed(t, tb, tcp(false, 40000, 22, packet.TCPSyn|packet.TCPAck, 5000, 1001), t0)
	feed(t, tb, tcp(true, 40000, 22, packet.TCPAck, 1001, 5001), t0)
	ssh.SetMark(5)
	feed(t, tb, tcp(true, 40001, 23, packet.TCPSyn, 1000, 0), t0)
	feed(t, tb, packet.Spec{Src: cli, Dst: dns, SrcPort: 5353, DstPort: 53, Proto: packet.ProtoUDP, PayloadLen: 8}, t0)
	feed(t, tb, packet.Spec{Src: cli, Dst: srv, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 7, ICMPSeq: 1, TotalLen: 84}, t0)
	if tb.Count() != 4 {
		t.Fatalf("test table has %d entries", tb.Count())
	}
	return tb, t0 + sec
}

const (
	lineSSH  = "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000 [ASSURED] mark=5 use=1\n"
	lineSYN  = "tcp      6 119 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40001 dport=23 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=23 dport=40001 mark=0 use=1\n"
	lineDNS  = "udp      17 29 src=10.0.0.1 dst=10.0.0.3 sport=5353 dport=53 [UNREPLIED] src=10.0.0.3 dst=10.0.0.1 sport=53 dport=5353 mark=0 use=1\n"
	linePing = "icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=1\n"
	tryHelp  = "Try `conntrack -h' or 'conntrack --help' for more information.\n"
)

func runCT(tb *ct.Table, now int64, args string) (string, string, int) {
	var o, e strings.Builder
	code := Main(strings.Fields(args), &Env{Stdout: &o, Stderr: &e, Table: tb, Now: func() int64 { return now }, CPUs: 2})
	return o.String(), e.String(), code
}

// sortedLines compares listings regardless of the table's hash order.
func sameLines(a, b string) bool {
	as, bs := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	if len(as) != len(bs) {
		return false
	}
	seen := map[string]int{}
	for _, l := range as {
		seen[l]++
	}
	for _, l := range bs {
		seen[l]--
		if seen[l] < 0 {
			return false
		}
	}
	return true
}

func TestListAndFilters(t *testing.T) {
	tb, now := testTable(t)
	for _, tc := range []struct {
		args, out string
	}{
		{"-L", lineSSH + lineSYN + lineDNS + linePing},
		{"-L conntrack -p tcp", lineSSH + lineSYN},
		{"-L -p udp", lineDNS},
		{"-L -p 17", lineDNS},
		{"-L -p icmp --icmp-id 7", linePing},
		{"-L -p icmp --icmp-id 8", ""},
		{"-L -p tcp --state ESTABLISHED", lineSSH},
		{"-L -p tcp --state SYN_SENT", lineSYN},
		{"-L -p tcp --dport 23", lineSYN},
		{"-L -p tcp --reply-port-src 22", lineSSH},
		{"-L -s 10.0.0.1 -d 10.0.0.3", lineDNS},
		{"-L -d 10.0.0.0/31", ""},
		{"-L -d 10.0.0.2/32", lineSSH + lineSYN + linePing},
		{"-L -r 10.0.0.3", lineDNS},
		{"-L -m 5", lineSSH},
		{"-L -m 4/4", lineSSH},
		{"-L -m 0/0xffffffff", lineSYN + lineDNS + linePing},
		{"-L -u ASSURED", lineSSH},
		{"-L -u UNREPLIED", lineSYN + lineDNS + linePing},
		{"-L -u !ASSURED", lineSYN + lineDNS + linePing},
		{"-L -w 0 -p udp", lineDNS},
		{"-L -w 1", ""},
		{"-L -n", ""},
		{"-L -j 10.0.0.2", ""},
		{"-L -f ipv6", ""},
		{"-L -o extended -p udp", "ipv4     2 " + lineDNS},
		{"-L -o save -p tcp --dport 22", "-A -t 431999 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p tcp --sport 40000 --dport 22 --reply-port-src 22 --reply-port-dst 40000 --state ESTABLISHED\n"},
		{"-L -o save -p icmp", "-A -t 29 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 7\n"},
		{"-L dying", ""},
	} {
		out, errs, code := runCT(tb, now, tc.args)
		n := strings.Count(tc.out, "\n")
		wantErr := errPrefix + strings.Replace("N flow entries have been shown.\n", "N", strconv.Itoa(n), 1)
		if !sameLines(out, tc.out) || errs != wantErr || code != 0 {
			t.Errorf("conntrack %s: exit %d\n%s%s\nwant:\n%s%s", tc.args, code, out, errs, tc.out, wantErr)
		}
	}
}

func TestGetDeleteUpdateFlush(t *testing.T) {
	tb, now := testTable(t)
	check := func(args, out, errs string, code int) {
		t.Helper()
		o, e, c := runCT(tb, now, args)
		if !sameLines(o, out) || e != errs || c != code {
			t.Errorf("conntrack %s: exit %d\n%s%s\nwant exit %d:\n%s%s", args, c, o, e, code, out, errs)
		}
	}
	held := func(l string) string { return strings.Replace(l, "use=1", "use=2", 1) }
	check("-G -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 22", held(lineSSH), errPrefix+"1 flow entries have been shown.\n", 0)
	// Found through its reply tuple, then filtered out: nothing shown.
	check("-G -p tcp -s 10.0.0.2 -d 10.0.0.1 --sport 22 --dport 40000", "", errPrefix+"0 flow entries have been shown.\n", 1)
	check("-G -p tcp -r 10.0.0.2 -q 10.0.0.1 --reply-port-src 22 --reply-port-dst 40000", "", errPrefix+"Operation failed: invalid parameters\n", 1)
	check("-G -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2", "", errPrefix+"Operation failed: such conntrack doesn't exist\n", 1)
	// Without --icmp-id the kernel looks id 0 up.
	check("-G -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0", "", errPrefix+"Operation failed: such conntrack doesn't exist\n", 1)
	check("-G -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 3 --icmp-code 0 --icmp-id 7", "", errPrefix+"Operation failed: invalid parameters\n", 1)
	check("-G -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 7", held(linePing), errPrefix+"1 flow entries have been shown.\n", 0)

	// conntrack 1.4.7 sends updates with the command's family: none
	// given, the kernel refuses the first one.
	check("-U -p icmp -m 9", "", "Operation failed: Operation not supported\n"+errPrefix+"Operation failed: Operation not supported\n", 1)
	check("-U -f ipv4 -p icmp -m 9", held(strings.Replace(linePing, "mark=0", "mark=9", 1)), errPrefix+"1 flow entries have been updated.\n", 0)
	check("-U -f ipv4 -p icmp -m 9", "", errPrefix+"0 flow entries have been updated.\n", 1)
	// Several updated: only the first comes back printed.
	o, e, c := runCT(tb, now, "-U -s 10.0.0.1 -p tcp -m 3")
	if strings.Count(o, "\n") != 1 || !strings.Contains(o, "mark=3 use=2\n") || e != errPrefix+"2 flow entries have been updated.\n" || c != 0 {
		t.Errorf("-U of two entries: exit %d\n%s%s", c, o, e)
	}
	check("-U -s 10.0.0.1 -p tcp -m 5 --dport 22", held(lineSSH), errPrefix+"1 flow entries have been updated.\n", 0)
	check("-U -s 10.0.0.1 -p tcp -m 0 --dport 23", held(lineSYN), errPrefix+"1 flow entries have been updated.\n", 0)
	check("-L -m 9", strings.Replace(linePing, "mark=0", "mark=9", 1), errPrefix+"1 flow entries have been shown.\n", 0)

	check("-D -p tcp --dport 23", lineSYN, errPrefix+"1 flow entries have been deleted.\n", 0)
	check("-D -p tcp --dport 23", "", errPrefix+"0 flow entries have been deleted.\n", 1)
	check("-C", "3\n", "", 0)
	check("-C expect", "0\n", "", 0)
	check("-L expect", "", errPrefix+"0 expectations have been shown.\n", 0)
	check("-S", "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n"+
		"cpu=1   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n", "", 0)
	check("-F -f ipv6", "", errPrefix+"connection tracking table has been emptied.\n", 0)
	check("-C", "3\n", "", 0)
	check("-F", "", errPrefix+"connection tracking table has been emptied.\n", 0)
	check("-C", "0\n", "", 0)
	check("-F expect", "", errPrefix+"expectation table has been emptied.\n", 0)
	check("-L", "", errPrefix+"0 flow entries have been shown.\n", 0)
}

// The command line errors conntrack 1.4.7 gives (its own text).
func TestParameterProblems(t *testing.T) {
	tb, now := testTable(t)
	for _, tc := range []struct{ args, msg string }{
		{"-p tcp", "Illegal option `--protonum' with this command"},
		{"-s 1.2.3.4", "Illegal option `--src' with this command"},
		{"-L -p tcp --state FOO", "unknown TCP state `FOO'"},
		{"-L --sport 5", "unknown option `--sport'"},
		{"-G -p tcp", "you have to specify `--src' and `--dst'"},
		{"-G -p tcp -s 1.1.1.1 -d 2.2.2.2", "you have to specify `--sport' and `--dport'"},
		{"-G -p icmp -s 1.1.1.1 -d 2.2.2.2", "You need to supply the `--icmp-type' option for this command"},
		{"-G -p gre -s 1.1.1.1 -d 2.2.2.2", "you have to specify `--srckey' and `--dstkey'"},
		{"-L foo", "unknown type `foo'"},
		{"-L -L", "Invalid commands combination"},
		{"-xz", "unknown option `conntrack'"},
		{"-zx", "unknown option `-zx'"},
		{"--orig", "unknown option `--orig'"},
		{"-L -s", "option `-s' requires an argument"},
		{"-L --src", "option `--src' requires an argument"},
		{"-h -p foo", "`foo' unsupported protocol"},
		{"-h -p unknown", "`unknown' unsupported protocol"},
		{"-L -z -p tcp", "Can't use -z with filtering parameters"},
		{"-L --mask-src 255.0.0.0", "Can't use --mask-src without --src"},
		{"-L -o ,x", "Bad parameter `,x'"},
		{"-L -u ASSURED,,x", "Bad parameter `,x'"},
		{"-L -u !", "Bad parameter `'"},
		{"-L -r 1.2.3.4/24", "CIDR notation unavailable for `--reply-src'"},
		{"-L -s 1.2.3.4/33", "Invalid netmask"},
		{"-L -s ::1 -d 1.2.3.4", "mismatched address family"},
		{"-U expect", "Can't do --update on expectations"},
		{"-D dying", "Can't do that command with tables `dying' and `unconfirmed'"},
		{"-L -j 1.1.1.1 -n", "cannot specify `--src-nat' or `--dst-nat' with `--any-nat'"},
		{"-L -n 1.2.3.4:70000", "Invalid port `70000'"},
	} {
		for _, table := range []*ct.Table{tb, nil} {
			out, errs, code := runCT(table, now, tc.args)
			want := errPrefix + tc.msg + "\n" + tryHelp
			if out != "" || errs != want || code != 2 {
				t.Errorf("conntrack %s (table %v): exit %d\n%s%s\nwant exit 2:\n%s", tc.args, table != nil, code, out, errs, want)
			}
		}
	}
	_, errs, code := runCT(tb, now, "-L -o save,xml")
	if errs != errPrefix+"cannot combine save output with any other output type, use -o save only\n" || code != 1 {
		t.Errorf("-o save,xml: exit %d %q", code, errs)
	}
	_, errs, code = runCT(tb, now, "-L -u S")
	if errs != "WARNING: ignoring SRC_NAT, use --src-nat instead\n"+errPrefix+"Operation failed: invalid parameters\n" || code != 1 {
		t.Errorf("-u S: exit %d %q", code, errs)
	}
}

func TestHelpVersionNoTable(t *testing.T) {
	out, errs, code := runCT(nil, 0, "-V")
	if out != "conntrack v1.4.7 (conntrack-tools)\n" || errs != "" || code != 0 {
		t.Errorf("-V: %d %q %q", code, out, errs)
	}
	out, _, code = runCT(nil, 0, "-h -p icmp")
	if code != 0 || !strings.HasPrefix(out, "Command line interface for the connection tracking system. Version 1.4.7\nUsage: conntrack [commands] [options]\n") ||
		!strings.HasSuffix(out, "  --mask-dst ip\t\t\tDestination mask address\n\nProto `icmp' help:\n  --icmp-type\t\t\ticmp type\n  --icmp-code\t\t\ticmp code\n  --icmp-id\t\t\ticmp id\n") {
		t.Errorf("-h -p icmp: %d\n%s", code, out)
	}
	out, _, _ = runCT(nil, 0, "-h -p 0")
	if !strings.HasSuffix(out, "Proto `ip' help:\n  no options (unsupported)\n") {
		t.Errorf("-h -p 0:\n%s", out)
	}
	for _, args := range []string{"-L", "-F", "-C", "-D -p tcp"} {
		out, errs, code := runCT(nil, 0, args)
		if out != "" || errs != NoTable || code != 1 {
			t.Errorf("%s without a table: %d %q %q", args, code, out, errs)
		}
	}
}

func TestUnsupportedRefused(t *testing.T) {
	tb, now := testTable(t)
	for _, args := range []string{"-E", "-I -p tcp -s 1.1.1.1 -d 2.2.2.2 --sport 1 --dport 2 -t 10 --state ESTABLISHED",
		"-L -o xml", "-L -o id", "-L -p gre --srckey 1", "-U -m 1 -t 5", "-D expect -p tcp -s 1.1.1.1 -d 2.2.2.2 --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1",
		"-R /dev/null"} {
		out, errs, code := runCT(tb, now, args)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "nfgo conntrack: ") {
			t.Errorf("%s: not refused: exit %d %q %q", args, code, out, errs)
		}
	}
	if tb.Count() != 4 {
		t.Errorf("a refused command changed the table: %d entries", tb.Count())
	}
}

func FuzzConntrackArgs(f *testing.F) {
	for _, s := range []string{"-L", "-L -p tcp --state ESTABLISHED", "-D -m 5", "-U -m 1/1 -p icmp", "-G -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 22",
		"-L -o save,extended", "-xz", "-L expect -- x", "-h -p 47", "-L -n 1.2.3.4:5 -g", "-L -u !ASSURED,UNREPLIED", "-F", "-S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, " ")
		if len(args) > 64 {
			args = args[:64]
		}
		tb, now := testTable(t)
		var o, e strings.Builder
		code := Main(args, &Env{Stdout: &o, Stderr: &e, Table: tb, Now: func() int64 { return now }})
		if code < 0 || code > 2 {
			t.Fatalf("exit status %d", code)
		}
		Main(args, &Env{Stdout: &o, Stderr: &e})
	})
}

// conntrack -E on a table that gives events (a gateway's): the filters
// and -e apply to each event, -o extended adds the layer 3 protocol, and
// when the listener goes the count is printed as conntrack prints it.
func TestEvents(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"-E -p tcp", "" +
			"    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000\n" +
			" [UPDATE] tcp      6 60 SYN_RECV src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000\n" +
			" [UPDATE] tcp      6 432000 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000 [ASSURED]\n"},
		{"-E -e NEW -o extended", "" +
			"    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000\n" +
			"    [NEW] ipv4     2 udp      17 30 src=10.0.0.1 dst=10.0.0.3 sport=5353 dport=53 [UNREPLIED] src=10.0.0.3 dst=10.0.0.1 sport=53 dport=5353\n"},
		{"-E -e DESTROY", ""},
	} {
		tb := ct.NewTable(ct.DefaultConfig())
		subscribed := make(chan struct{})
		done := make(chan struct{})
		var o, e strings.Builder
		ret := make(chan int)
		go func() {
			ret <- Main(strings.Fields(tc.args), &Env{Stdout: &o, Stderr: &e, Table: tb, Done: done,
				Subscribe: func(f ct.EventFunc) func() {
					tb.Events = f
					close(subscribed)
					return func() {}
				}})
		}()
		<-subscribed
		tcp := func(fromCli bool, flags uint8, seq, ack uint32) packet.Spec {
			s := packet.Spec{Src: cli, Dst: srv, SrcPort: 40000, DstPort: 22, Proto: packet.ProtoTCP, TCPFlags: flags, Seq: seq, Ack: ack}
			if !fromCli {
				s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, 22, 40000
			}
			return s
		}
		feed(t, tb, tcp(true, packet.TCPSyn, 1000, 0), t0)
		feed(t, tb, tcp(false, packet.TCPSyn|packet.TCPAck, 5000, 1001), t0)
		feed(t, tb, tcp(true, packet.TCPAck, 1001, 5001), t0)
		feed(t, tb, tcp(true, packet.TCPAck, 1001, 5001), t0) // no change: no event
		feed(t, tb, packet.Spec{Src: cli, Dst: dns, SrcPort: 5353, DstPort: 53, Proto: packet.ProtoUDP, PayloadLen: 8}, t0)
		time.Sleep(100 * time.Millisecond)
		close(done)
		if code := <-ret; code != 0 {
			t.Errorf("%s: exit %d %s", tc.args, code, e.String())
		}
		n := strings.Count(tc.want, "\n")
		if o.String() != tc.want || e.String() != fmt.Sprintf("conntrack v1.4.7 (conntrack-tools): %d flow events have been shown.\n", n) {
			t.Errorf("%s:\n%s%s--- want\n%s", tc.args, o.String(), e.String(), tc.want)
		}
	}
}
