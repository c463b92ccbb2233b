package replay

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/packet"
)

// Seed 000's rule (RST lines logged with the prefix "[plantegg] " at level
// 7) beside another LOG rule.
const seed000Rules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp ! --sport 3406 --tcp-flags RST RST -j LOG --log-prefix "[plantegg] " --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options
-A INPUT -p tcp -m tcp --dport 22 --tcp-flags SYN,RST,ACK SYN -j LOG --log-prefix "ssh: "
COMMIT
`

// readLogFiles reads every file in dir, decompressing .gz files.
func readLogFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	out := map[string]string{}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if strings.HasSuffix(e.Name(), ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
		}
		out[e.Name()] = string(b)
	}
	return out
}

// Seed 000's recipe through nfgo replay: a capture spanning three days,
// the RST lines routed to their own file (the rsyslog rule), both files
// rotated daily on capture time and compressed, the rotated files named
// as logrotate's dateext names them (the date of the rotation, in local
// time), the other LOG lines in the default file.
func TestReplaySeed000LogRouteRotate(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	w := func(n, s string) string { p := filepath.Join(dir, n); os.WriteFile(p, []byte(s), 0o644); return p }

	start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) // noon UTC: the same day in most zones
	var frames []timedFrame
	for day := 0; day < 3; day++ {
		at := start.Add(time.Duration(day) * 24 * time.Hour)
		rst := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0x0a000001, Proto: packet.ProtoTCP, SrcPort: 8182, DstPort: uint16(9366 + day),
			TCPFlags: packet.TCPRst | packet.TCPAck, Ack: 1747027778, TTL: 64, DF: true})
		skip := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0x0a000001, Proto: packet.ProtoTCP, SrcPort: 3406, DstPort: 5000,
			TCPFlags: packet.TCPRst, TTL: 64}) // ! --sport 3406: not logged
		syn := packet.Build(&packet.Spec{Src: 0x0a000006, Dst: 0x0a000001, Proto: packet.ProtoTCP, SrcPort: uint16(40000 + day), DstPort: 22,
			TCPFlags: packet.TCPSyn, TTL: 64, Window: 64240})
		frames = append(frames, timedFrame{at, frame(macEth0, macPeer, rst)}, timedFrame{at.Add(time.Second), frame(macEth0, macPeer, skip)},
			timedFrame{at.Add(2 * time.Second), frame(macEth0, macPeer, syn)})
	}
	var b bytes.Buffer
	pw := pcapgo.NewWriter(&b)
	pw.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, f := range frames {
		pw.WritePacket(gopacket.CaptureInfo{Timestamp: f.at, CaptureLength: len(f.b), Length: len(f.b)}, f.b)
	}
	capFile := w("c.pcap", b.String())

	run := func() (string, int) {
		var out, errb bytes.Buffer
		code := Main([]string{"--rules", w("r", seed000Rules), "--host", w("h", hostJSON), "--routes", w("rt", routesJSON),
			"--log", filepath.Join(logs, "kern.log"), "--log-route", "[plantegg]=" + filepath.Join(logs, "plantegg-tcp.log"),
			"--log-rotate", "daily,keep=30,compress", "--quiet", "eth0=" + capFile}, &Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()})
		return out.String() + errb.String(), code
	}
	if out, code := run(); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	day := func(d int) string {
		return start.Add(time.Duration(d) * 24 * time.Hour).In(time.Local).Format("20060102")
	}
	stamp := func(d, s int) string { return fmt.Sprintf("[%d.000000] ", start.Unix()+int64(d*86400+s)) }
	rstLine := func(d int) string {
		return stamp(d, 0) + fmt.Sprintf("[plantegg] IN=eth0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:fe:08:00 SRC=10.0.0.5 DST=10.0.0.1 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=8182 DPT=%d SEQ=0 ACK=1747027778 WINDOW=0 RES=0x00 ACK RST URGP=0 \n", 9366+d)
	}
	sshLine := func(d int) string {
		return stamp(d, 2) + fmt.Sprintf("ssh: IN=eth0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:fe:08:00 SRC=10.0.0.6 DST=10.0.0.1 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=TCP SPT=%d DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 \n", 40000+d)
	}
	want := map[string]string{
		"plantegg-tcp.log-" + day(1) + ".gz": rstLine(0),
		"plantegg-tcp.log-" + day(2) + ".gz": rstLine(1),
		"plantegg-tcp.log":                   rstLine(2),
		"kern.log-" + day(1) + ".gz":         sshLine(0),
		"kern.log-" + day(2) + ".gz":         sshLine(1),
		"kern.log":                           sshLine(2),
	}
	check := func() {
		t.Helper()
		got := readLogFiles(t, logs)
		var names []string
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(got) != len(want) {
			t.Fatalf("files %v", names)
		}
		for n, w := range want {
			if got[n] != w {
				t.Errorf("%s:\n%q\nwant\n%q", n, got[n], w)
			}
		}
	}
	check()
	// A second run into the same files refuses to go over the rotated
	// ones (nothing is deleted), and leaves them as they were.
	if out, code := run(); code != 1 || !strings.Contains(out, "move them away first") {
		t.Fatalf("second run: exit %d: %s", code, out)
	}
	check()
}

type timedFrame struct {
	at time.Time
	b  []byte
}

// Without routes or rotation, --log is what it was: the file written anew
// (mode 0644), every line after its capture-time stamp.
func TestReplayLogPlain(t *testing.T) {
	dir, _, code := runReplay(t, false)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	p := filepath.Join(dir, "log")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644&^umaskOf(t) {
		t.Fatalf("%v %v", st, err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "log-") {
			t.Errorf("rotated file %s without --log-rotate", e.Name())
		}
	}
}

func umaskOf(t *testing.T) os.FileMode {
	p := filepath.Join(t.TempDir(), "u")
	os.WriteFile(p, nil, 0o777)
	st, _ := os.Stat(p)
	return 0o777 &^ st.Mode().Perm()
}

func TestReplayLogOptionErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--log-route", "/var/log/x.log", "c.pcap"}, `nfgo replay: route "/var/log/x.log": want PREFIX=FILE, e.g. '[plantegg]=/var/log/plantegg.log'`},
		{[]string{"--log-rotate", "weekly", "c.pcap"}, `nfgo replay: rotation "weekly": unknown word "weekly" (want daily, size=N, keep=N, compress, delaycompress)`},
		{[]string{"--log-rotate", "daily", "c.pcap"}, "nfgo replay: --log-rotate rotates the files of --log and --log-route, and none is given"},
		{[]string{"--log-route"}, "nfgo replay: option --log-route needs an argument"},
	} {
		var out, errb bytes.Buffer
		if code := Main(c.args, &Env{Stdout: &out, Stderr: &errb}); code != 2 || !strings.HasPrefix(errb.String(), c.msg+"\n") {
			t.Errorf("%v: exit %d, %q", c.args, code, errb.String())
		}
	}
}
