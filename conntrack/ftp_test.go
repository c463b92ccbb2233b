package conntrack

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// ftpSess drives one FTP control connection (client 10.0.0.1:40021 to
// server 10.0.0.2:21) through a table, the client's packets carrying the
// CT --helper ftp template as raw's rule "-p tcp --dport 21" gives them.
type ftpSess struct {
	t          *testing.T
	tb         *Table
	now        int64
	cport      uint16
	cseq, sseq uint32
	ctrl       *Conn
}

func newFTPTable() *Table {
	c := DefaultConfig()
	c.Buckets = 1024
	c.Checksum = false // payloads are written after the checksums
	return NewTable(c)
}

func tcpData(t testing.TB, src, dst uint32, sport, dport uint16, flags uint8, seq, ack uint32, data string) *packet.Parsed {
	b := packet.Build(&packet.Spec{Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Proto: packet.ProtoTCP,
		TCPFlags: flags, Seq: seq, Ack: ack, Window: 64240, PayloadLen: len(data)})
	copy(b[len(b)-len(data):], data)
	var p packet.Parsed
	if err := p.Decode(b); err != nil {
		t.Fatal(err)
	}
	return &p
}

// pass runs a packet through In (with the template when asked) and
// ConfirmPacket, as the engine does for a forwarded packet.
func pass(tb *Table, p *packet.Parsed, now int64, h *Helper) (CtInfo, *Conn, bool) {
	ci, ct := tb.InHelper(p, now, 0, h)
	if ct == nil {
		return ci, nil, true
	}
	ct, ok := tb.ConfirmPacket(p, ct, ci, now)
	return ci, ct, ok
}

func newFTPSess(t *testing.T, tb *Table, cport uint16) *ftpSess {
	s := &ftpSess{t: t, tb: tb, now: t0, cport: cport, cseq: 1000, sseq: 5000}
	h := HelperByName("ftp", protoTCP)
	ci, ct, ok := pass(tb, tcpData(t, cli, srv, cport, 21, packet.TCPSyn, s.cseq, 0, ""), s.now, h)
	if ci != New || !ok || ct.Helper() != h || ct.Status()&StatusHelper == 0 {
		t.Fatalf("control SYN: %v %v", ci, ok)
	}
	s.ctrl = ct
	s.cseq++
	if ci, _, _ := pass(tb, tcpData(t, srv, cli, 21, cport, packet.TCPSyn|packet.TCPAck, s.sseq, s.cseq, ""), s.now, nil); ci != EstablishedReply {
		t.Fatalf("control SYN/ACK: %v", ci)
	}
	s.sseq++
	if ci, _, _ := pass(tb, tcpData(t, cli, srv, cport, 21, packet.TCPAck, s.cseq, s.sseq, ""), s.now, h); ci != Established {
		t.Fatalf("control ACK: %v", ci)
	}
	return s
}

// cli sends data from the client; it returns whether the packet passed.
func (s *ftpSess) cli(data string) bool {
	s.t.Helper()
	ci, ct, ok := pass(s.tb, tcpData(s.t, cli, srv, s.cport, 21, packet.TCPAck|packet.TCPPsh, s.cseq, s.sseq, data), s.now, HelperByName("ftp", protoTCP))
	if ci != Established || ct != s.ctrl {
		s.t.Fatalf("client data %q: %v", data, ci)
	}
	if ok {
		s.cseq += uint32(len(data))
	}
	return ok
}

func (s *ftpSess) srv(data string) bool {
	s.t.Helper()
	ci, ct, ok := pass(s.tb, tcpData(s.t, srv, cli, 21, s.cport, packet.TCPAck|packet.TCPPsh, s.sseq, s.cseq, data), s.now, nil)
	if ci != EstablishedReply || ct != s.ctrl {
		s.t.Fatalf("server data %q: %v", data, ci)
	}
	if ok {
		s.sseq += uint32(len(data))
	}
	return ok
}

// ack sends a pure ACK from the client (acknowledging the server's data).
func (s *ftpSess) ack() {
	s.t.Helper()
	if ci, _, ok := pass(s.tb, tcpData(s.t, cli, srv, s.cport, 21, packet.TCPAck, s.cseq, s.sseq, ""), s.now, nil); ci != Established || !ok {
		s.t.Fatalf("client ACK: %v", ci)
	}
}

func expectProc(tb *Table, now int64) string {
	var b bytes.Buffer
	tb.WriteExpectProc(&b, now)
	return b.String()
}

// greet exchanges the banner and a first command, which the helper never
// parses (no newline seen before them).
func (s *ftpSess) greet() {
	s.t.Helper()
	if !s.srv("220 hi\r\n") || !s.cli("USER x\r\n") || !s.srv("331 ok\r\n") {
		s.t.Fatal("greeting dropped")
	}
}

func TestFTPActive(t *testing.T) {
	tb := newFTPTable()
	s := newFTPSess(t, tb, 40021)
	s.greet()
	if !s.cli("PORT 10,0,0,1,19,137\r\n") {
		t.Fatal("PORT dropped")
	}
	s.now += sec / 2
	if got, want := expectProc(tb, s.now), "299 l3proto = 2 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=5001 ftp\n"; got != want {
		t.Fatalf("expectations:\n%s\nwant:\n%s", got, want)
	}
	var lb bytes.Buffer
	tb.WriteExpectList(&lb, s.now)
	if got, want := lb.String(), "299 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=5001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1 master-dst=10.0.0.2 sport=40021 dport=21 class=0 helper=ftp\n"; got != want {
		t.Fatalf("conntrack -L expect:\n%s\nwant:\n%s", got, want)
	}
	s.ctrl.SetMark(7)
	// The server's data connection, from port 20.
	ci, d, ok := pass(tb, tcpData(t, srv, cli, 20, 5001, packet.TCPSyn, 9000, 0, ""), s.now, nil)
	if ci != Related || !ok || d.Master() != s.ctrl || d.Status()&StatusExpected == 0 || d.Helper() != nil || d.Mark() != 7 {
		t.Fatalf("data SYN: %v ok=%v", ci, ok)
	}
	if tb.ExpectCount() != 0 {
		t.Fatal("expectation not consumed")
	}
	if ci, _, _ := pass(tb, tcpData(t, cli, srv, 5001, 20, packet.TCPSyn|packet.TCPAck, 7000, 9001, ""), s.now, nil); ci != EstablishedReply {
		t.Fatalf("data SYN/ACK: %v", ci)
	}
	if ci, _, _ := pass(tb, tcpData(t, srv, cli, 20, 5001, packet.TCPAck, 9001, 7001, ""), s.now, nil); ci != Established {
		t.Fatalf("data ACK: %v", ci)
	}
	l := list(tb, s.now)
	if !strings.Contains(l, "sport=21 dport=40021 [ASSURED] mark=7 helper=ftp use=2\n") ||
		!strings.Contains(l, "src=10.0.0.2 dst=10.0.0.1 sport=20 dport=5001 src=10.0.0.1 dst=10.0.0.2 sport=5001 dport=20 [ASSURED] mark=7 use=1\n") {
		t.Fatalf("conntrack -L:\n%s", l)
	}
	// A second connection to the same port is not expected any more.
	if ci, _, _ := pass(tb, tcpData(t, srv, cli, 20, 5001, packet.TCPSyn, 9000, 0, ""), s.now, nil); ci == Related {
		t.Fatal("expectation used twice")
	}
}

func TestFTPPassive(t *testing.T) {
	for _, c := range []struct {
		name, reply string
		port        uint16
	}{
		{"PASV", "227 Entering Passive Mode (10,0,0,2,195,80).\r\n", 50000},
		{"PASV without parentheses", "227 Entering Passive Mode 10,0,0,2,195,81\r\n", 50001},
		{"EPSV", "229 Entering Extended Passive Mode (|||6446|)\r\n", 6446},
		{"EPSV other delimiter", "229 ok (!!!6447!)\r\n", 6447},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := newFTPTable()
			s := newFTPSess(t, tb, 40021)
			s.greet()
			if !s.cli("PASV\r\n") || !s.srv(c.reply) {
				t.Fatal("dropped")
			}
			ci, d, ok := pass(tb, tcpData(t, cli, srv, 40100, c.port, packet.TCPSyn, 1, 0, ""), s.now, nil)
			if ci != Related || !ok || d.Master() != s.ctrl {
				t.Fatalf("data SYN: %v", ci)
			}
		})
	}
}

func TestFTPEPRT(t *testing.T) {
	tb := newFTPTable()
	s := newFTPSess(t, tb, 40021)
	s.greet()
	if !s.cli("EPRT |1|10.0.0.1|6275|\r\n") {
		t.Fatal("EPRT dropped")
	}
	if ci, _, _ := pass(tb, tcpData(t, srv, cli, 20, 6275, packet.TCPSyn, 1, 0, ""), s.now, nil); ci != Related {
		t.Fatalf("data SYN: %v", ci)
	}
}

// The kernel's edge cases: what is dropped, what is not expected.
func TestFTPEdgeCases(t *testing.T) {
	for _, c := range []struct {
		name   string
		cli    []string // client segments after the greeting
		passed []bool
		port   uint16 // expected data port, 0: none
	}{
		{"lower case", []string{"port 10,0,0,1,19,137\r\n"}, []bool{true}, 5001},
		{"other address (loose=0)", []string{"PORT 10,0,0,9,19,137\r\n"}, []bool{true}, 0},
		{"too few numbers", []string{"PORT 10,0,0,1,19\r\n"}, []bool{false}, 0},
		{"too many numbers", []string{"PORT 10,0,0,1,19,137,1\r\n"}, []bool{false}, 0},
		{"letters", []string{"PORT a,b\r\n"}, []bool{false}, 0},
		{"no terminator", []string{"PORT 10,0,0,1,19,137\n"}, []bool{false}, 0},
		{"keyword only", []string{"PORT"}, []bool{false}, 0},
		{"keyword start", []string{"PO"}, []bool{false}, 0},
		{"EPRT start", []string{"EP"}, []bool{false}, 0},
		{"no space", []string{"PORTX\r\n"}, []bool{false}, 0},
		{"numbers split", []string{"PORT 10,0,0,1,", "19,137\r\n"}, []bool{false, true}, 0},
		{"command after another", []string{"NOOP\r\nPORT 10,0,0,1,19,137\r\n"}, []bool{true}, 0},
		{"newline alone re-syncs", []string{"NOOP", "\r\n", "PORT 10,0,0,1,19,137\r\n"}, []bool{true, true, true}, 5001},
		{"after a segment without newline", []string{"NOOP", "\r\nPORT 10,0,0,1,19,137\r\n"}, []bool{true, true}, 0},
		{"retransmitted whole after partial", []string{"PO", "PORT 10,0,0,1,19,137\r\n"}, []bool{false, true}, 5001},
		{"numbers over 255 wrap", []string{"PORT 10,0,0,1,0,5001\r\n"}, []bool{true}, 5001 & 0xFFFF},
		{"EPRT IPv6", []string{"EPRT |2|::1|6275|\r\n"}, []bool{false}, 0},
		{"EPRT digit delimiter", []string{"EPRT 1110.0.0.11627\r\n"}, []bool{false}, 0},
		{"EPRT port 0", []string{"EPRT |1|10.0.0.1|0|\r\n"}, []bool{false}, 0},
		{"EPRT port wraps", []string{"EPRT |1|10.0.0.1|71811|\r\n"}, []bool{true}, 6275},
		{"USER not a command", []string{"USER PORT 10,0,0,1,19,137\r\n"}, []bool{true}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := newFTPTable()
			s := newFTPSess(t, tb, 40021)
			s.greet()
			for i, seg := range c.cli {
				if got := s.cli(seg); got != c.passed[i] {
					t.Fatalf("segment %q passed=%v, want %v", seg, got, c.passed[i])
				}
			}
			want := 0
			if c.port != 0 {
				want = 1
			}
			if tb.ExpectCount() != want {
				t.Fatalf("%d expectations, want %d:\n%s", tb.ExpectCount(), want, expectProc(tb, s.now))
			}
			if c.port != 0 {
				if ci, _, _ := pass(tb, tcpData(t, srv, cli, 20, c.port, packet.TCPSyn, 1, 0, ""), s.now, nil); ci != Related {
					t.Fatalf("data SYN to %d: %v", c.port, ci)
				}
			}
		})
	}
}

// The first segment each way is never parsed.
func TestFTPFirstSegmentNotParsed(t *testing.T) {
	tb := newFTPTable()
	s := newFTPSess(t, tb, 40021)
	if !s.srv("220 hi\r\n") || !s.cli("PORT 10,0,0,1,19,137\r\n") {
		t.Fatal("dropped")
	}
	if tb.ExpectCount() != 0 {
		t.Fatal("first command parsed")
	}
	if !s.cli("PORT 10,0,0,1,19,138\r\n") || tb.ExpectCount() != 1 {
		t.Fatal("second command not parsed")
	}
}

// Policy: one expectation per master (the newest), 5 minutes, removed
// with the master; clashes between masters drop the packet.
func TestFTPExpectPolicy(t *testing.T) {
	tb := newFTPTable()
	s := newFTPSess(t, tb, 40021)
	s.greet()
	s.cli("PORT 10,0,0,1,19,137\r\n")
	s.cli("PORT 10,0,0,1,19,138\r\n")
	if got := expectProc(tb, s.now+sec); !strings.Contains(got, "dport=5002 ftp") || strings.Count(got, "\n") != 1 {
		t.Fatalf("expectations:\n%s", got)
	}
	// The same again replaces it.
	s.cli("PORT 10,0,0,1,19,138\r\n")
	if tb.ExpectCount() != 1 {
		t.Fatal("identical expectation added twice")
	}
	// Another control connection expecting the same: -EBUSY, dropped.
	s2 := newFTPSess(t, tb, 40022)
	s2.greet()
	if s2.cli("PORT 10,0,0,1,19,138\r\n") {
		t.Fatal("clashing expectation accepted")
	}
	// Timeout: 300 s (the control connection kept alive: data acked).
	s.srv("200 ok\r\n")
	s.ack()
	s2.ack()
	if ci, _, _ := pass(tb, tcpData(t, srv, cli, 20, 5002, packet.TCPSyn, 1, 0, ""), s.now+300*sec, nil); ci != New {
		t.Fatalf("expired expectation used: %v", ci)
	}
	s.now += 300 * sec
	s.cli("PORT 10,0,0,1,19,139\r\n")
	if tb.ExpectCount() != 1 {
		t.Fatalf("%d expectations", tb.ExpectCount())
	}
	tb.Delete(s.ctrl, s.now)
	if tb.ExpectCount() != 0 {
		t.Fatal("expectations outlive their master")
	}
}

// No template, no helper: PORT is not looked at.
func TestFTPNoHelper(t *testing.T) {
	tb := newFTPTable()
	p := tcpData(t, cli, srv, 40021, 21, packet.TCPSyn, 1, 0, "")
	if _, ct, _ := pass(tb, p, t0, nil); ct.Helper() != nil || ct.Status()&StatusHelper != 0 {
		t.Fatal("helper without template")
	}
	if l := list(tb, t0); strings.Contains(l, "helper=") {
		t.Fatal(l)
	}
}

func TestFTPHelperDefaults(t *testing.T) {
	h := HelperByName("ftp", protoTCP)
	if h == nil || h.Port != 21 || h.MaxExpected != 1 || h.Timeout != 300 {
		t.Fatalf("ftp helper %+v", h)
	}
	if HelperByName("ftp", protoUDP) != nil || HelperByName("ftp-21", protoTCP) != nil || HelperByName("irc", protoTCP) != nil {
		t.Fatal("unexpected helper")
	}
	defer SetFTPPorts(nil)
	SetFTPPorts([]uint16{21, 2121})
	if HelperByName("ftp", protoTCP) == nil || HelperByName("ftp-2121", protoTCP) == nil {
		t.Fatal("ports=21,2121")
	}
	SetFTPPorts([]uint16{2121})
	if HelperByName("ftp", protoTCP) != nil {
		t.Fatal("ports=2121 still registers ftp")
	}
	SetFTPPorts(nil)
	if HelperByName("ftp", protoTCP) == nil {
		t.Fatal("default not restored")
	}
}

func TestFTPNoAllocs(t *testing.T) {
	tb := newFTPTable()
	s := newFTPSess(t, tb, 40021)
	s.greet()
	h := HelperByName("ftp", protoTCP)
	p := tcpData(t, cli, srv, 40021, 21, packet.TCPAck|packet.TCPPsh, s.cseq, s.sseq, "NOOP\r\n")
	n := testing.AllocsPerRun(100, func() {
		ci, ct := tb.InHelper(p, s.now, 0, h)
		tb.ConfirmPacket(p, ct, ci, s.now)
		_ = HelperByName("ftp", protoTCP)
	})
	if n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

func TestFTPParsers(t *testing.T) {
	n, ip, port := ftpRFC959([]byte("10,0,0,1,19,137\r\n"), '\r', 0)
	if n != 15 || ip != 0x0a000001 || port != 5001 {
		t.Fatalf("rfc959: %d %x %d", n, ip, port)
	}
	// 300 in the last address byte spills into the third.
	if n, ip, port := ftpRFC959([]byte("10,0,0,300,0,21\r"), '\r', 0); n == 0 || ip != 0x0a00012c || port != 21 {
		t.Fatalf("rfc959 wrap: %x", ip)
	}
	if n, ip, port := ftpRFC1123([]byte("=10,0,0,2,1,2)"), 0, 0); n == 0 || ip != 0x0a000002 || port != 258 {
		t.Fatalf("rfc1123: %x %d", ip, port)
	}
	if n, _, _ := ftpRFC1123([]byte("Entering"), 0, 0); n != 0 {
		t.Fatal("rfc1123 without digits")
	}
	if n, _, _ := ftpEPSV([]byte("|||"), 0, 0); n != 0 {
		t.Fatal("epsv too short")
	}
}
