package nat

import (
	"encoding/binary"
	"testing"

	"pgregory.net/rapid"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Rewriting keeps every checksum valid: for TCP, UDP (with and without a
// checksum) and ICMP echo packets of any size, any new source and
// destination leave a packet whose IP header and transport checksums
// verify, whose other bytes are unchanged, and a UDP datagram sent
// without a checksum still has none.
func TestManipKeepsChecksumsValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		proto := rapid.SampledFrom([]uint8{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoICMP}).Draw(t, "proto")
		s := &packet.Spec{Src: rapid.Uint32().Draw(t, "src"), Dst: rapid.Uint32().Draw(t, "dst"), Proto: proto,
			SrcPort: rapid.Uint16().Draw(t, "sport"), DstPort: rapid.Uint16().Draw(t, "dport"),
			ICMPType: 8, ICMPID: rapid.Uint16().Draw(t, "id"), Seq: rapid.Uint32().Draw(t, "seq"),
			ID: rapid.Uint16().Draw(t, "ipid"), PayloadLen: rapid.IntRange(0, 64).Draw(t, "n")}
		b := packet.Build(s)
		noSum := proto == packet.ProtoUDP && rapid.Bool().Draw(t, "nosum")
		if noSum {
			b[26], b[27] = 0, 0
		}
		orig := append([]byte(nil), b...)
		target := conntrack.Tuple{Src: rapid.Uint32().Draw(t, "nsrc"), Dst: rapid.Uint32().Draw(t, "ndst"), Proto: proto,
			SrcPort: rapid.Uint16().Draw(t, "nsport"), DstPort: rapid.Uint16().Draw(t, "ndport")}
		for _, m := range []Manip{Src, Dst} {
			if !manipPkt(b, 0, &target, m, false) {
				t.Fatalf("manip refused a whole packet")
			}
		}
		if packet.Checksum16(b[:20], 0) != 0 {
			t.Fatalf("IP header checksum invalid: %x", b)
		}
		if got := binary.BigEndian.Uint32(b[12:]); got != target.Src {
			t.Fatalf("source %08x, want %08x", got, target.Src)
		}
		if got := binary.BigEndian.Uint32(b[16:]); got != target.Dst {
			t.Fatalf("destination %08x, want %08x", got, target.Dst)
		}
		l4 := b[20:]
		init := target.Src>>16 + target.Src&0xFFFF + target.Dst>>16 + target.Dst&0xFFFF + uint32(proto) + uint32(len(l4))
		switch {
		case proto == packet.ProtoICMP:
			if packet.Checksum16(l4, 0) != 0 || binary.BigEndian.Uint16(l4[4:]) != target.SrcPort {
				t.Fatalf("ICMP echo: %x", b)
			}
		case noSum:
			if l4[6] != 0 || l4[7] != 0 {
				t.Fatalf("a UDP datagram without checksum got one: %x", b)
			}
		default:
			if packet.Checksum16(l4, init) != 0 {
				t.Fatalf("transport checksum invalid: %x", b)
			}
		}
		if proto != packet.ProtoICMP && (binary.BigEndian.Uint16(l4[0:]) != target.SrcPort || binary.BigEndian.Uint16(l4[2:]) != target.DstPort) {
			t.Fatalf("ports not rewritten: %x", b)
		}
		// Nothing else changed.
		csum := map[int]bool{10: true, 11: true}
		switch proto {
		case packet.ProtoTCP:
			csum[36], csum[37] = true, true
		case packet.ProtoUDP:
			csum[26], csum[27] = true, true
		case packet.ProtoICMP:
			csum[22], csum[23] = true, true
		}
		for i := range b {
			rewritten := (i >= 12 && i < 20) || (i >= 20 && i < 24 && proto != packet.ProtoICMP) || (i >= 24 && i < 26 && proto == packet.ProtoICMP)
			if !rewritten && !csum[i] && b[i] != orig[i] {
				t.Fatalf("byte %d changed: %x -> %x", i, orig, b)
			}
		}
	})
}

// The kernel's address choice in a range is a jhash of the source and
// destination (find_best_ips_proto): the same client keeps its address
// for a destination, and --persistent keeps it for every destination.
func TestBestIPsSpreadAndPersistence(t *testing.T) {
	r := Range{Flags: RangeMapIPs, MinAddr: 0x0a000001, MaxAddr: 0x0a0000fe}
	seen := map[uint32]bool{}
	for c := uint32(1); c <= 64; c++ {
		tp := conntrack.Tuple{Src: 0xc0a80000 | c, Dst: 0x08080808, Proto: 6}
		bestIPs(&tp, &r, 0, Src)
		if tp.Src < r.MinAddr || tp.Src > r.MaxAddr {
			t.Fatalf("%08x outside the range", tp.Src)
		}
		seen[tp.Src] = true
		again := conntrack.Tuple{Src: 0xc0a80000 | c, Dst: 0x08080808, Proto: 17}
		bestIPs(&again, &r, 0, Src)
		if again.Src != tp.Src {
			t.Fatalf("the same client and destination got two addresses")
		}
	}
	if len(seen) < 32 {
		t.Fatalf("64 clients spread over only %d addresses", len(seen))
	}
	p := r
	p.Flags |= RangePersistent
	a := conntrack.Tuple{Src: 0xc0a80001, Dst: 0x08080808}
	b := conntrack.Tuple{Src: 0xc0a80001, Dst: 0x01010101}
	bestIPs(&a, &p, 0, Src)
	bestIPs(&b, &p, 0, Src)
	if a.Src != b.Src {
		t.Fatalf("--persistent: %08x and %08x for one client", a.Src, b.Src)
	}
}

// csum_replace4 of a field changing to itself leaves the checksum as it
// was, and a change and its undoing bring a zero checksum back to one of
// the two representations of zero.
func TestCsumReplace(t *testing.T) {
	c := []byte{0x12, 0x34}
	csumReplace4(c, 0x0a000001, 0x0a000001)
	if c[0] != 0x12 || c[1] != 0x34 {
		t.Fatalf("no-op replace changed the checksum to %x", c)
	}
	// A checksum of 0x0000 stays valid through a change and back.
	c = []byte{0, 0}
	csumReplace4(c, 1, 2)
	csumReplace4(c, 2, 1)
	if v := binary.BigEndian.Uint16(c); v != 0 && v != 0xFFFF {
		t.Fatalf("round trip gave %#04x", v)
	}
}

// partialSum is what a sender offloading the checksum leaves in the
// field (CHECKSUM_PARTIAL): the folded pseudo-header sum, uncomplemented.
func partialSum(b []byte) uint16 {
	src, dst := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:])
	return ^packet.Checksum16(nil, src>>16+src&0xFFFF+dst>>16+dst&0xFFFF+uint32(b[9])+uint32(len(b)-20))
}

// A CHECKSUM_PARTIAL packet rewritten with partial set, then completed
// as the device would (the sum of the transport bytes folded into the
// field), has the same checksum as a full recomputation over the
// rewritten packet: the address change reached the pseudo-header sum and
// the port change was left to the final sum. Rewriting it as if the
// checksum were complete would not give a valid packet.
func TestManipPartialChecksum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		proto := rapid.SampledFrom([]uint8{packet.ProtoTCP, packet.ProtoUDP}).Draw(t, "proto")
		s := &packet.Spec{Src: rapid.Uint32().Draw(t, "src"), Dst: rapid.Uint32().Draw(t, "dst"), Proto: proto,
			SrcPort: rapid.Uint16().Draw(t, "sport"), DstPort: rapid.Uint16().Draw(t, "dport"),
			Seq: rapid.Uint32().Draw(t, "seq"), PayloadLen: rapid.IntRange(0, 3000).Draw(t, "n")}
		b := packet.Build(s)
		at := 20 + 16
		if proto == packet.ProtoUDP {
			at = 20 + 6
		}
		binary.BigEndian.PutUint16(b[at:], partialSum(b))
		target := conntrack.Tuple{Src: rapid.Uint32().Draw(t, "nsrc"), Dst: rapid.Uint32().Draw(t, "ndst"), Proto: proto,
			SrcPort: rapid.Uint16().Draw(t, "nsport"), DstPort: rapid.Uint16().Draw(t, "ndport")}
		for _, m := range rapid.SampledFrom([][]Manip{{Src}, {Dst}, {Src, Dst}}).Draw(t, "manips") {
			if !manipPkt(b, 0, &target, m, true) {
				t.Fatalf("manip refused a whole packet")
			}
		}
		if got, want := binary.BigEndian.Uint16(b[at:]), partialSum(b); got != want && got^want != 0xFFFF {
			t.Fatalf("partial sum after NAT %04x, the rewritten packet's pseudo-header sum is %04x", got, want)
		}
		if !packet.FinishChecksum(b, 20, at-20) {
			t.Fatal("FinishChecksum refused")
		}
		full := append([]byte(nil), b...)
		full[at], full[at+1] = 0, 0
		src, dst := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:])
		want := packet.Checksum16(full[20:], src>>16+src&0xFFFF+dst>>16+dst&0xFFFF+uint32(proto)+uint32(len(b)-20))
		got := binary.BigEndian.Uint16(b[at:])
		if got != want && !(want == 0 && got == 0xFFFF) {
			t.Fatalf("completed checksum %04x, full recomputation %04x", got, want)
		}
	})
}
