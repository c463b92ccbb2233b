package xt

import (
	"encoding/binary"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// The REJECT replies, checked against what nf_reject_ipv4.c and icmp.c
// (Linux 6.18) build; kerneldiff/reject_test.go compares the same with the
// real kernel byte for byte.

const (
	rjClient = 0x0A010102 // 10.1.1.2
	rjRouter = 0x0A010101 // 10.1.1.1, the router on the client side
	rjOther  = 0x0A010201 // 10.1.2.1, the router on the server side
	rjServer = 0x0A010202 // 10.1.2.2
)

func rejectEnv() *Env {
	var x uint32 = 1
	return &Env{
		Rand: func() uint32 { x = x*1103515245 + 12345; return x },
		ICMP: &ICMPLimiter{},
		AddrType: func(a uint32, dev string) uint8 {
			switch a {
			case rjRouter, rjOther:
				return 2
			case 0x0A0101FF, 0x0A0102FF:
				return 3
			}
			return 1
		},
		RouteSrc: func(dst uint32) (uint32, bool) {
			if dst>>8 == 0x0A0101 {
				return rjRouter, true
			}
			return rjOther, true
		},
	}
}

func rejectPkt(t *testing.T, env *Env, hook Hook, b []byte) *Pkt {
	t.Helper()
	p := &Pkt{Hook: hook, Env: env, InIface: "r0", InEther: true, MAC: make([]byte, 14), Time: 1_700_000_000_000_000_000}
	if hook == HookLocalOut {
		p.InIface, p.MAC, p.InEther = "", nil, false
	}
	if err := p.Decode(b); err != nil {
		t.Fatal(err)
	}
	return p
}

func tcpSpec(src, dst uint32, flags uint8, payload int) *packet.Spec {
	return &packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoTCP, SrcPort: 40000, DstPort: 22, TCPFlags: flags,
		Seq: 1000, Ack: 777, DF: true, PayloadLen: payload, TCPOptions: []byte{2, 4, 5, 0xb4}}
}

func udpSpec(src, dst uint32, payload int) *packet.Spec {
	return &packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 53, PayloadLen: payload, ID: 77}
}

// checkSums verifies the IP header checksum and the transport checksum
// of a generated packet.
func checkSums(t *testing.T, b []byte) {
	t.Helper()
	if packet.Checksum16(b[:20], 0) != 0 {
		t.Errorf("bad IP header checksum: %x", b)
	}
	seed := uint32(0)
	if b[9] == packet.ProtoTCP {
		seed = pseudoHeaderSum(binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:]), 6, len(b)-20)
	}
	if packet.Checksum16(b[20:], seed) != 0 {
		t.Errorf("bad transport checksum: %x", b)
	}
}

func TestRejectTCPReset(t *testing.T) {
	env := rejectEnv()
	for _, tc := range []struct {
		name     string
		hook     Hook
		spec     *packet.Spec
		src      uint32
		seq, ack uint32
		flags    uint8
	}{
		// Without ACK: sequence 0, acknowledging SYN, FIN and data.
		{"syn", HookLocalIn, tcpSpec(rjClient, rjRouter, packet.TCPSyn, 0), rjRouter, 0, 1001, packet.TCPRst | packet.TCPAck},
		{"fin+data", HookLocalIn, tcpSpec(rjClient, rjRouter, packet.TCPFin, 10), rjRouter, 0, 1011, packet.TCPRst | packet.TCPAck},
		{"syn+fin", HookLocalIn, tcpSpec(rjClient, rjRouter, packet.TCPSyn|packet.TCPFin, 0), rjRouter, 0, 1002, packet.TCPRst | packet.TCPAck},
		// With ACK: the RST's sequence is the acknowledged number.
		{"ack+data", HookLocalIn, tcpSpec(rjClient, rjRouter, packet.TCPAck|packet.TCPPsh, 100), rjRouter, 777, 0, packet.TCPRst},
		// Forwarded: from the original destination.
		{"forward", HookForward, tcpSpec(rjClient, rjServer, packet.TCPSyn, 0), rjServer, 0, 1001, packet.TCPRst | packet.TCPAck},
		{"output", HookLocalOut, tcpSpec(rjRouter, rjServer, packet.TCPSyn, 0), rjServer, 0, 1001, packet.TCPRst | packet.TCPAck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := *tc.spec
			spec.TOS = 0xB8
			p := rejectPkt(t, env, tc.hook, packet.Build(&spec))
			r := &Reject{With: RejectTCPReset}
			if v := r.Target(p); v != VerdictDrop {
				t.Fatalf("verdict %v", v)
			}
			if len(p.Replies) != 1 {
				t.Fatalf("%d replies", len(p.Replies))
			}
			b := p.Replies[0]
			checkSums(t, b)
			want := []byte{0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6}
			if string(b[:10]) != string(want) {
				t.Errorf("IP header % x, want % x", b[:10], want)
			}
			if s, d := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:]); s != tc.src || d != spec.Src {
				t.Errorf("addresses %08x > %08x", s, d)
			}
			tcp := b[20:]
			if sp, dp := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:]); sp != 22 || dp != 40000 {
				t.Errorf("ports %d > %d", sp, dp)
			}
			if seq, ack := binary.BigEndian.Uint32(tcp[4:]), binary.BigEndian.Uint32(tcp[8:]); seq != tc.seq || ack != tc.ack {
				t.Errorf("seq %d ack %d, want %d %d", seq, ack, tc.seq, tc.ack)
			}
			if tcp[12] != 0x50 || tcp[13] != tc.flags || tcp[14] != 0 || tcp[15] != 0 || tcp[18] != 0 || tcp[19] != 0 {
				t.Errorf("TCP header % x", tcp)
			}
		})
	}
}

func TestRejectNoReply(t *testing.T) {
	env := rejectEnv()
	badTCP := packet.Build(tcpSpec(rjClient, rjRouter, packet.TCPSyn, 0))
	badTCP[20+16] ^= 1
	badUDP := packet.Build(udpSpec(rjClient, rjRouter, 4))
	badUDP[20+6] ^= 1
	frag := packet.Build(&packet.Spec{Src: rjClient, Dst: rjServer, Proto: packet.ProtoTCP, FragOffset: 3, PayloadLen: 40})
	bcastMAC := rejectPkt(t, env, HookLocalIn, packet.Build(udpSpec(rjClient, rjRouter, 0)))
	bcastMAC.MAC[0] = 0xFF
	for _, tc := range []struct {
		name string
		with uint32
		p    *Pkt
	}{
		{"rst for rst", RejectTCPReset, rejectPkt(t, env, HookLocalIn, packet.Build(tcpSpec(rjClient, rjRouter, packet.TCPRst|packet.TCPAck, 0)))},
		{"rst bad checksum", RejectTCPReset, rejectPkt(t, env, HookLocalIn, badTCP)},
		{"rst fragment", RejectTCPReset, rejectPkt(t, env, HookForward, frag)},
		{"rst to broadcast", RejectTCPReset, rejectPkt(t, env, HookLocalIn, packet.Build(tcpSpec(rjClient, 0x0A0101FF, packet.TCPSyn, 0)))},
		{"icmp fragment", RejectICMPPortUnreachable, rejectPkt(t, env, HookForward, frag)},
		{"icmp bad udp checksum", RejectICMPPortUnreachable, rejectPkt(t, env, HookLocalIn, badUDP)},
		{"icmp to broadcast", RejectICMPHostProhibited, rejectPkt(t, env, HookLocalIn, packet.Build(udpSpec(rjClient, 0x0A0101FF, 0)))},
		{"icmp to multicast", RejectICMPHostProhibited, rejectPkt(t, env, HookLocalIn, packet.Build(udpSpec(rjClient, 0xE0000001, 0)))},
		{"icmp link broadcast", RejectICMPPortUnreachable, bcastMAC},
		{"icmp about an error", RejectICMPPortUnreachable, rejectPkt(t, env, HookLocalIn, packet.Build(&packet.Spec{Src: rjClient, Dst: rjRouter, Proto: packet.ProtoICMP, ICMPType: 3, ICMPCode: 1}))},
		{"icmp about type 40", RejectICMPPortUnreachable, rejectPkt(t, env, HookLocalIn, packet.Build(&packet.Spec{Src: rjClient, Dst: rjRouter, Proto: packet.ProtoICMP, ICMPType: 40}))},
		{"icmp unknown proto bad sum", RejectICMPProtUnreachable, rejectPkt(t, env, HookLocalIn, packet.Build(&packet.Spec{Src: rjClient, Dst: rjRouter, Proto: 253, PayloadLen: 1, IPOptions: nil}))},
		{"forward without env", RejectICMPPortUnreachable, rejectPkt(t, nil, HookForward, packet.Build(udpSpec(rjClient, rjServer, 0)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "icmp unknown proto bad sum" {
				tc.p.B[20] = 1 // payload sums to 0x0100
			}
			r := &Reject{With: tc.with}
			if v := r.Target(tc.p); v != VerdictDrop {
				t.Fatalf("verdict %v", v)
			}
			if len(tc.p.Replies) != 0 {
				t.Errorf("unexpected reply %x", tc.p.Replies[0])
			}
		})
	}
}

func TestRejectICMP(t *testing.T) {
	codes := map[uint32]uint8{
		RejectICMPNetUnreachable: 0, RejectICMPHostUnreachable: 1, RejectICMPProtUnreachable: 2,
		RejectICMPPortUnreachable: 3, RejectICMPNetProhibited: 9, RejectICMPHostProhibited: 10,
		RejectICMPAdminProhibited: 13,
	}
	for with, code := range codes {
		for _, tc := range []struct {
			hook     Hook
			env      bool
			src, dst uint32
			from     uint32
			tos      uint8
			payload  int
			quoted   int
		}{
			{HookLocalIn, true, rjClient, rjRouter, rjRouter, 0, 10, 38},
			{HookLocalIn, true, rjClient, rjOther, rjOther, 0xFF, 0, 28},   // from the address the packet was sent to
			{HookLocalIn, false, rjClient, rjOther, rjOther, 0x10, 0, 28},  // no environment: still local
			{HookForward, true, rjClient, rjServer, rjRouter, 0x08, 0, 28}, // from the route towards the sender
			{HookForward, true, rjClient, rjServer, rjRouter, 0, 1000, 548},
			{HookLocalOut, true, rjRouter, rjServer, rjRouter, 0, 0, 28}, // back to the host itself
		} {
			var env *Env
			if tc.env {
				env = rejectEnv()
			}
			spec := udpSpec(tc.src, tc.dst, tc.payload)
			spec.TOS = tc.tos
			orig := packet.Build(spec)
			p := rejectPkt(t, env, tc.hook, orig)
			(&Reject{With: with}).Target(p)
			if len(p.Replies) != 1 {
				t.Fatalf("with %d hook %d: %d replies", with, tc.hook, len(p.Replies))
			}
			b := p.Replies[0]
			checkSums(t, b)
			if len(b) != 28+tc.quoted || int(binary.BigEndian.Uint16(b[2:])) != len(b) {
				t.Errorf("length %d, want %d", len(b), 28+tc.quoted)
			}
			wantTOS := tc.tos&0x1E | 0xC0
			if b[0] != 0x45 || b[1] != wantTOS || b[4]|b[5]|b[6]|b[7] != 0 || b[8] != 64 || b[9] != 1 {
				t.Errorf("IP header % x", b[:20])
			}
			if s, d := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:]); s != tc.from || d != tc.src {
				t.Errorf("addresses %08x > %08x, want %08x > %08x", s, d, tc.from, tc.src)
			}
			if b[20] != 3 || b[21] != code || b[24]|b[25]|b[26]|b[27] != 0 {
				t.Errorf("ICMP header % x", b[20:28])
			}
			if string(b[28:]) != string(orig[:tc.quoted]) {
				t.Errorf("quoted bytes differ")
			}
		}
	}
}

func TestRejectRateLimit(t *testing.T) {
	env := rejectEnv()
	r := &Reject{With: RejectICMPPortUnreachable}
	send := func(src uint32, at int64, in string) bool {
		p := rejectPkt(t, env, HookLocalIn, packet.Build(udpSpec(src, rjRouter, 0)))
		p.Time += at
		p.InIface = in
		r.Target(p)
		return len(p.Replies) == 1
	}
	n := 0
	for i := 0; i < 9; i++ {
		if send(rjClient, int64(i)*1000, "r0") {
			n++
		}
	}
	if n != 6 {
		t.Errorf("burst: %d errors, want 6", n)
	}
	if !send(0x0A010103, 10_000, "r0") {
		t.Errorf("another destination limited")
	}
	if send(rjClient, 500_000_000, "r0") {
		t.Errorf("error after 0.5 s")
	}
	if !send(rjClient, 1_000_000_000, "r0") || send(rjClient, 1_000_000_000, "r0") {
		t.Errorf("after 1 s: want exactly one more")
	}
	for i := 0; i < 10; i++ {
		if !send(rjClient, 1_000_000_000, "lo") {
			t.Errorf("limited on lo")
		}
	}
	if !send(rjClient, 8_000_000_000, "r0") {
		t.Errorf("no error after the bucket refilled")
	}
}

func TestRejectAllocs(t *testing.T) {
	env := rejectEnv()
	icmp := rejectPkt(t, env, HookLocalIn, packet.Build(udpSpec(rjClient, rjRouter, 100)))
	icmp.InIface = "lo" // no rate limit
	rst := rejectPkt(t, env, HookLocalIn, packet.Build(tcpSpec(rjClient, rjRouter, packet.TCPSyn, 0)))
	none := rejectPkt(t, env, HookLocalIn, packet.Build(tcpSpec(rjClient, rjRouter, packet.TCPRst, 0)))
	limited := rejectPkt(t, env, HookLocalIn, packet.Build(udpSpec(rjClient, rjRouter, 100))) // through the rate limiter
	for _, tc := range []struct {
		name string
		with uint32
		p    *Pkt
		max  float64
	}{
		{"icmp", RejectICMPPortUnreachable, icmp, 1},
		{"rst", RejectTCPReset, rst, 1},
		{"none", RejectTCPReset, none, 0},
		{"limited", RejectICMPPortUnreachable, limited, 1},
	} {
		r := &Reject{With: tc.with}
		tc.p.Replies = make([][]byte, 0, 1)
		a := testing.AllocsPerRun(100, func() {
			tc.p.Replies = tc.p.Replies[:0]
			r.Target(tc.p)
		})
		if a > tc.max {
			t.Errorf("%s: %v allocations, want at most %v (the reply)", tc.name, a, tc.max)
		}
	}
}
