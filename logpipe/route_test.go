package logpipe

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Seed 000's rsyslog rule, with "& stop": [plantegg] lines in their own
// log and nowhere else; TRACE lines copied to a trace log and also to the
// default; everything else to the default.
func TestRouter(t *testing.T) {
	var pl, tr, def bytes.Buffer
	r := &Router{Routes: []Route{
		{Prefix: "[plantegg]", Sink: NewWriter(&pl, StampNone, "")},
		{Prefix: "TRACE: ", Sink: NewWriter(&tr, StampNone, ""), Continue: true},
		{Prefix: "[plantegg] IN=eth1", Sink: NewWriter(&tr, StampNone, "")}, // never reached: the first route stops
	}, Default: NewWriter(&def, StampNone, "")}
	for _, l := range []string{
		"[plantegg] IN=eth0 OUT= SRC=10.0.0.1 PROTO=TCP SPT=1 DPT=2 RST URGP=0 ",
		"TRACE: raw:PREROUTING:policy:2 IN=eth0 ",
		"fwd: IN=eth0 OUT=eth1 ",
		"[plantegg] IN=eth1 OUT= ",
		"IN=eth0 OUT= [plantegg] ",
	} {
		if err := r.WriteLine(time.Unix(0, 0), 7, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if pl.String() != "[plantegg] IN=eth0 OUT= SRC=10.0.0.1 PROTO=TCP SPT=1 DPT=2 RST URGP=0 \n[plantegg] IN=eth1 OUT= \n" {
		t.Errorf("plantegg: %q", pl.String())
	}
	if tr.String() != "TRACE: raw:PREROUTING:policy:2 IN=eth0 \n" {
		t.Errorf("trace: %q", tr.String())
	}
	if def.String() != "TRACE: raw:PREROUTING:policy:2 IN=eth0 \nfwd: IN=eth0 OUT=eth1 \nIN=eth0 OUT= [plantegg] \n" {
		t.Errorf("default: %q", def.String())
	}
}

// A sink shared by two routes is closed once; without a default the
// lines no route takes are dropped.
func TestRouterSharedSink(t *testing.T) {
	dir := t.TempDir()
	f := mustOpen(t, filepath.Join(dir, "x.log"), FileOptions{})
	r := &Router{Routes: []Route{{Prefix: "a", Sink: f}, {Prefix: "b", Sink: f}}}
	for _, l := range []string{"a1", "b1", "c1"} {
		write(t, r, time.Unix(0, 0), l)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dirFiles(t, dir); got["x.log"] != "a1\nb1\n" || len(got) != 1 {
		t.Fatalf("%q", got)
	}
}

func listenGram(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readGram(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}

// What a syslog daemon receives on its socket: facility kern with the
// rule's level, the RFC 3164 timestamp of the line's time, the tag
// "kernel:" and the line as the kernel prints it. The daemon restarting
// (a new socket at the same path) costs no line.
func TestSyslogFormat(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	srv := listenGram(t, sock)
	s, err := DialSyslog(sock)
	if err != nil {
		t.Fatal(err)
	}
	line := "[plantegg] IN= OUT=eth0 SRC=10.0.186.75 DST=10.0.175.109 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=8182 DPT=9366 SEQ=0 ACK=1747027778 WINDOW=0 RES=0x00 ACK RST URGP=0 "
	at := time.Date(2020, 4, 26, 15, 27, 36, 0, time.UTC)
	if err := s.WriteLine(at, 7, []byte(line)); err != nil {
		t.Fatal(err)
	}
	if got, want := readGram(t, srv), "<7>Apr 26 15:27:36 kernel: "+line; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	s.WriteLine(time.Date(2020, 4, 6, 5, 7, 6, 0, time.UTC), 4, []byte("TRACE: raw:OUTPUT:policy:2 IN= OUT=lo "))
	if got, want := readGram(t, srv), "<4>Apr  6 05:07:06 kernel: TRACE: raw:OUTPUT:policy:2 IN= OUT=lo "; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	srv.Close()
	os.Remove(sock)
	srv = listenGram(t, sock)
	defer srv.Close()
	if err := s.WriteLine(at, 0, []byte("after restart")); err != nil {
		t.Fatal(err)
	}
	if got := readGram(t, srv); got != "<0>Apr 26 15:27:36 kernel: after restart" {
		t.Fatalf("%q", got)
	}
	s.Close()
	if _, err := DialSyslog(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("dialled a socket that does not exist")
	}
}

// With rsyslogd installed: what rsyslog makes of Syslog's datagrams,
// through imuxsock as on a real host. The lines reach a file in rsyslog's
// traditional format as seed 000 shows them; the filter that routes them
// is `:msg, startswith, " [plantegg]"` (rsyslog keeps the space after
// the tag in msg), and seed 000's `startswith, "[plantegg]"` (written for
// the lines imklog reads from the kernel) does not match them.
func TestRsyslogReceives(t *testing.T) {
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("rsyslogd not installed")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	conf := fmt.Sprintf(`global(workDirectory=%[1]q)
module(load="imuxsock" SysSock.Name=%[2]q SysSock.Unlink="on" SysSock.UseSysTimeStamp="off" SysSock.IgnoreTimestamp="off")
template(name="trad" type="string" string="%%TIMESTAMP%% %%syslogfacility-text%%.%%syslogseverity%% %%syslogtag%%%%msg:::sp-if-no-1st-sp%%%%msg:::drop-last-lf%%\n")
:msg, startswith, "[plantegg]" %[1]s/seed.log
:msg, startswith, " [plantegg]" %[1]s/plantegg.log;trad
& stop
*.* %[1]s/other.log;trad
`, dir, sock)
	os.WriteFile(filepath.Join(dir, "rs.conf"), []byte(conf), 0o644)
	cmd := exec.Command(bin, "-n", "-f", filepath.Join(dir, "rs.conf"), "-i", filepath.Join(dir, "pid"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("rsyslogd: %v", err)
	}
	guard := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() }) // never hang the suite
	defer func() { guard.Stop(); cmd.Process.Kill(); cmd.Wait() }()
	var s *Syslog
	for i := 0; i < 200 && s == nil; i++ { // waiting for the daemon's socket, not timing it
		if s, err = DialSyslog(sock); err != nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if s == nil {
		t.Fatalf("rsyslogd's socket: %v\n%s", err, out.String())
	}
	at := time.Date(2020, 4, 26, 15, 27, 36, 0, time.Local)
	s.WriteLine(at, 7, []byte("[plantegg] IN= OUT=eth0 SRC=10.0.186.75 RST URGP=0 "))
	s.WriteLine(at, 4, []byte("fwd: IN=eth0 OUT=eth1 "))
	s.Close()
	// The last line reaching its file says rsyslogd has read both.
	for i := 0; i < 500; i++ {
		if b, _ := os.ReadFile(filepath.Join(dir, "other.log")); bytes.Contains(b, []byte("fwd:")) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	pl, _ := os.ReadFile(filepath.Join(dir, "plantegg.log"))
	other, _ := os.ReadFile(filepath.Join(dir, "other.log"))
	if string(pl) != "Apr 26 15:27:36 kern.7 kernel: [plantegg] IN= OUT=eth0 SRC=10.0.186.75 RST URGP=0 \n" {
		t.Errorf("plantegg.log: %q\n%s", pl, out.String())
	}
	if !strings.HasSuffix(string(other), "Apr 26 15:27:36 kern.4 kernel: fwd: IN=eth0 OUT=eth1 \n") || strings.Contains(string(other), "plantegg") {
		t.Errorf("other.log: %q\n%s", other, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "seed.log")); err == nil {
		t.Errorf("seed 000's filter matched a line from the socket")
	}
}
