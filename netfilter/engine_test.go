package netfilter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

func load(t testing.TB, text string) *rules.Ruleset {
	t.Helper()
	rs := rules.NewRuleset(xt.FamilyIPv4)
	if _, err := rules.Restore(rs, strings.NewReader(text), rules.RestoreOptions{Counters: true}, io.Discard); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return rs
}

// tcpSyn builds an IPv4 TCP SYN with a valid header checksum.
func tcpSyn(src, dst uint32, sport, dport uint16) []byte {
	b := make([]byte, 40)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], 40)
	b[8] = 64
	b[9] = 6
	binary.BigEndian.PutUint32(b[12:], src)
	binary.BigEndian.PutUint32(b[16:], dst)
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:20], 0))
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	b[32] = 5 << 4
	b[33] = packet.TCPSyn
	return b
}

func pkt(t testing.TB, b []byte, in string) *xt.Pkt {
	p := &xt.Pkt{InIface: in}
	if err := p.Decode(b); err != nil {
		t.Fatal(err)
	}
	return p
}

func saveC(rs *rules.Ruleset, s *Snapshot) string {
	c := rs.Clone()
	s.Counters(c)
	var b bytes.Buffer
	rules.WriteSave(&b, c, "filter", true)
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "#") && l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// Jump, goto, RETURN, falling off a user chain, non-terminal rules and the
// policy, with the counters iptables-save -c would show.
func TestTraversal(t *testing.T) {
	rs := load(t, `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:a - [0:0]
:b - [0:0]
:c - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j a
-A INPUT -p tcp -m tcp --dport 23 -g b
-A INPUT -p tcp -m tcp --dport 24 -j c
-A INPUT -p tcp
-A a -s 10.0.0.0/8 -j RETURN
-A a -j ACCEPT
-A b -p tcp -m tcp --sport 1000 -j ACCEPT
-A c -j RETURN
-A c -j ACCEPT
COMMIT
`)
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		src   uint32
		sport uint16
		dport uint16
		in    string
		want  xt.Verdict
		chain string
		rule  int
	}
	for i, c := range []tc{
		{0x0a000001, 999, 80, "lo", xt.VerdictAccept, "INPUT", 1},   // first rule
		{0xc0000201, 999, 22, "eth0", xt.VerdictAccept, "a", 2},     // jump, accept in a
		{0x0a000001, 999, 22, "eth0", xt.VerdictDrop, "INPUT", 0},   // RETURN from a, "-p tcp" counts, policy
		{0xc0000201, 1000, 23, "eth0", xt.VerdictAccept, "b", 1},    // goto
		{0xc0000201, 999, 23, "eth0", xt.VerdictDrop, "INPUT", 0},   // fall off a goto'd chain: policy
		{0xc0000201, 999, 24, "eth0", xt.VerdictDrop, "INPUT", 0},   // RETURN at once from c
		{0xc0000201, 999, 9999, "eth0", xt.VerdictDrop, "INPUT", 0}, // no match: policy
	} {
		res := s.Hook(xt.HookLocalIn, pkt(t, tcpSyn(c.src, 0x0a000002, c.sport, c.dport), c.in))
		if res.Verdict != c.want || res.Chain != c.chain || res.Rule != c.rule || res.Table != "filter" {
			t.Errorf("case %d: got %+v, want %v %s:%d", i, res, c.want, c.chain, c.rule)
		}
	}
	want := `*filter
:INPUT DROP [4:160]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:a - [0:0]
:b - [0:0]
:c - [0:0]
[1:40] -A INPUT -i lo -j ACCEPT
[2:80] -A INPUT -p tcp -m tcp --dport 22 -j a
[2:80] -A INPUT -p tcp -m tcp --dport 23 -g b
[1:40] -A INPUT -p tcp -m tcp --dport 24 -j c
[3:120] -A INPUT -p tcp
[1:40] -A a -s 10.0.0.0/8 -j RETURN
[1:40] -A a -j ACCEPT
[1:40] -A b -p tcp -m tcp --sport 1000 -j ACCEPT
[1:40] -A c -j RETURN
[0:0] -A c -j ACCEPT
COMMIT
`
	if got := saveC(rs, s); got != want {
		t.Errorf("counters:\n%s\nwant:\n%s", got, want)
	}
}

// Each table registered at a hook runs in kernel priority order, and the
// first non-ACCEPT verdict stops the packet.
func TestHookTableOrder(t *testing.T) {
	rs := load(t, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 7 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp
COMMIT
`)
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	res := s.Hook(xt.HookPreRouting, pkt(t, tcpSyn(1, 2, 3, 7), "eth0"))
	if res.Verdict != xt.VerdictDrop || res.Table != "mangle" {
		t.Fatalf("got %+v", res)
	}
	c := rs.Clone()
	s.Counters(c)
	if c.Table("raw").Chain("PREROUTING").Rules[0].Counters.Packets != 1 || c.Table("nat").Chain("PREROUTING").Rules[0].Counters.Packets != 0 {
		t.Fatalf("raw ran before mangle, nat never: %+v %+v", c.Table("raw").Chain("PREROUTING").Rules[0].Counters, c.Table("nat").Chain("PREROUTING").Rules[0].Counters)
	}
}

// rulesetN has n rules in filter INPUT that the benchmark packet does not
// match (its source is outside every -s), then a final ACCEPT for it.
func rulesetN(n int) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&b, "-A INPUT -s 10.%d.%d.0/24 -p tcp -m tcp --dport %d -j DROP\n", (i>>8)&255, i&255, 1+i%1000)
	}
	b.WriteString("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n")
	return b.String()
}

func TestNoAllocsPerPacket(t *testing.T) {
	rs := load(t, rulesetN(100))
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	p := pkt(t, tcpSyn(0xc0a80001, 0x0a000002, 40000, 22), "eth0")
	if n := testing.AllocsPerRun(1000, func() {
		p.HotDrop = false
		if s.Hook(xt.HookLocalIn, p).Verdict != xt.VerdictAccept {
			t.Fatal("not accepted")
		}
	}); n != 0 {
		t.Fatalf("%.1f allocations per packet", n)
	}
}

// BenchmarkFilterInput: ns and allocations per packet through filter INPUT
// with N rules, the packet matching only the last.
func BenchmarkFilterInput(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rs := load(b, rulesetN(n))
			s, err := Compile(rs)
			if err != nil {
				b.Fatal(err)
			}
			raw := tcpSyn(0xc0a80001, 0x0a000002, 40000, 22)
			var p xt.Pkt
			p.InIface = "eth0"
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.Decode(raw)
				p.HotDrop = false
				s.Hook(xt.HookLocalIn, &p)
			}
		})
	}
}

func TestDecTTLChecksum(t *testing.T) {
	for ttl := 2; ttl < 256; ttl += 7 {
		for id := 0; id < 65536; id += 997 {
			b := tcpSyn(0x0a000001, 0x0a000002, 1, 2)
			b[8] = byte(ttl)
			binary.BigEndian.PutUint16(b[4:], uint16(id))
			b[10], b[11] = 0, 0
			binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:20], 0))
			p := pkt(t, b, "eth0")
			decTTL(p)
			c := binary.BigEndian.Uint16(b[10:])
			b[10], b[11] = 0, 0
			full := packet.Checksum16(b[:20], 0)
			if c != full && !(c == 0 && full == 0xFFFF) && !(c == 0xFFFF && full == 0) {
				t.Fatalf("ttl %d id %d: incremental %04x, full %04x", ttl, id, c, full)
			}
		}
	}
}
