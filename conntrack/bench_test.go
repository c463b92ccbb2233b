package conntrack

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/nfgo/nfgo/packet"
)

// Benchmarks of the table as the engine drives it (In at PREROUTING,
// Confirm after INPUT). BENCHMARKS.md, "Connection tracking (step 3)",
// lists the commands and the numbers.

// openFlow runs the three-way handshake 10.0.0.1:40000 -> 10.0.0.2:22
// (ISNs 1000 / 5000) through tb and fails unless it ends ESTABLISHED.
func openFlow(t testing.TB, tb *Table, now int64) {
	t.Helper()
	step(t, tb, tcpPkt(t, true, S, 1000, 0, 0), now)
	step(t, tb, tcpPkt(t, false, S|A, 5000, 1001, 0), now)
	if _, ct := step(t, tb, tcpPkt(t, true, A, 1001, 5001, 0), now); ct == nil || ct.TCPState() != TCPEstablished {
		t.Fatal("handshake did not establish the flow")
	}
}

// csumFix adjusts a ones' complement checksum for one 16-bit word of the
// summed data changing from old to new (RFC 1624, eqn. 3).
func csumFix(sum, old, new uint16) uint16 {
	s := uint32(^sum) + uint32(^old) + uint32(new)
	s = s&0xFFFF + s>>16
	s = s&0xFFFF + s>>16
	return ^uint16(s)
}

// synSource rewrites a decoded TCP SYN in place to come from src:sport,
// keeping its TCP checksum valid (the IP header checksum is not checked
// again after Decode, so only the pseudo header's part of it matters).
func synSource(p *packet.Parsed, src uint32, sport uint16) {
	b := p.B
	l4 := b[p.IHL:]
	c := binary.BigEndian.Uint16(l4[16:18])
	c = csumFix(c, uint16(p.Src>>16), uint16(src>>16))
	c = csumFix(c, uint16(p.Src), uint16(src))
	c = csumFix(c, binary.BigEndian.Uint16(l4[0:2]), sport)
	binary.BigEndian.PutUint16(l4[16:18], c)
	binary.BigEndian.PutUint16(l4[0:2], sport)
	binary.BigEndian.PutUint32(b[12:16], src)
	p.Src, p.SrcPort = src, sport
}

// floodSource is the i-th flood source: 2^24 addresses in 11.0.0.0/8,
// ports spread over 1024..61023.
func floodSource(i int) (uint32, uint16) {
	return 0x0b000000 | uint32(i)&0xFFFFFF, uint16(1024 + (i*7919)%60000)
}

func synTo(t testing.TB, dport uint16) *packet.Parsed {
	return pkt(t, packet.Spec{Src: cli, Dst: srv, SrcPort: 1024, DstPort: dport, Proto: packet.ProtoTCP, TCPFlags: S, Seq: 77})
}

// BenchmarkInEstablished: one packet of an established TCP flow through
// In and Confirm (a no-op for confirmed entries), with the default
// configuration (L4 checksums verified, as nf_conntrack_checksum=1 does).
// ack: the same pure ACK, alternately in each direction.
// data1448: client segments of 1448 bytes, each ACKed by the server,
// sequence numbers advancing (window tracking as in a bulk transfer);
// checksum-off is the same with nf_conntrack_checksum=0 (or a NIC that
// verified the checksum).
func BenchmarkInEstablished(b *testing.B) {
	b.Run("ack", func(b *testing.B) {
		tb := newTable()
		openFlow(b, tb, t0)
		q := [2]*packet.Parsed{tcpPkt(b, true, A, 1001, 5001, 0), tcpPkt(b, false, A, 5001, 1001, 0)}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := q[i&1]
			ci, ct := tb.In(p, t0, 0)
			if ct == nil {
				b.Fatal(ci)
			}
			tb.Confirm(ct, ci, t0)
		}
	})
	for _, csum := range []bool{true, false} {
		name := "data1448"
		if !csum {
			name += "/checksum-off"
		}
		b.Run(name, func(b *testing.B) {
			const ring = 4096
			pkts := make([]*packet.Parsed, 0, 2*ring)
			for k := 0; k < ring; k++ {
				seq := 1001 + uint32(k)*1448
				pkts = append(pkts,
					tcpPkt(b, true, A|P, seq, 5001, 1448),
					tcpPkt(b, false, A, 5001, seq+1448, 0))
			}
			cfg := newTable().Config()
			cfg.Checksum = csum
			var tb *Table
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % len(pkts)
				if k == 0 {
					b.StopTimer()
					tb = NewTable(cfg)
					openFlow(b, tb, t0)
					b.StartTimer()
				}
				ci, ct := tb.In(pkts[k], t0, 0)
				if ct == nil || (ci != Established && ci != EstablishedReply) {
					b.Fatalf("packet %d: %v", k, ci)
				}
				tb.Confirm(ct, ci, t0)
			}
		})
	}
}

// TestInEstablishedNoAllocs: an established flow's packets, ACKs and data
// both ways, allocate nothing in In and Confirm.
func TestInEstablishedNoAllocs(t *testing.T) {
	tb := newTable()
	openFlow(t, tb, t0)
	var pkts []*packet.Parsed
	for k := 0; k < 300; k++ {
		seq := 1001 + uint32(k)*1448
		pkts = append(pkts, tcpPkt(t, true, A|P, seq, 5001, 1448), tcpPkt(t, false, A, 5001, seq+1448, 0))
	}
	i := 0
	n := testing.AllocsPerRun(len(pkts)-1, func() { // AllocsPerRun runs f once more to warm up
		ci, ct := tb.In(pkts[i], t0, 0)
		i++
		if ct == nil || (ci != Established && ci != EstablishedReply) {
			t.Fatalf("packet %d: %v", i-1, ci)
		}
		tb.Confirm(ct, ci, t0)
	})
	if n != 0 {
		t.Fatalf("%v allocations per established packet", n)
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkNewConn: new TCP connections, each a SYN from a distinct
// source address and port through In and Confirm (the entry goes into the
// table), with the kernel's default table (262,144 buckets, nf_conntrack_max
// 262,144) and checksum verification. Every 65,536 connections the table
// is replaced by an empty one outside the timer, so it never holds more
// than a quarter of its maximum. B/entry is the live heap a confirmed
// entry costs, measured over 65,536 entries after a GC (the bucket array,
// 8 bytes a bucket, is allocated with the table and not included).
func BenchmarkNewConn(b *testing.B) {
	const perTable = 65536
	cfg := DefaultConfig()
	p := synTo(b, 22)

	// Memory per entry.
	tb := NewTable(cfg)
	before := heapInUse()
	for i := 0; i < perTable; i++ {
		src, sport := floodSource(i)
		synSource(p, src, sport)
		ci, ct := tb.In(p, t0, 0)
		if ci != New || ct == nil {
			b.Fatalf("SYN %d: %v", i, ci)
		}
		if _, ok := tb.Confirm(ct, ci, t0); !ok {
			b.Fatal("confirm refused")
		}
	}
	after := heapInUse()
	if tb.Count() != perTable {
		b.Fatalf("count %d", tb.Count())
	}
	perEntry := float64(after-before) / perTable
	runtime.KeepAlive(tb)
	tb = nil

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % perTable
		if k == 0 {
			b.StopTimer()
			tb = NewTable(cfg)
			b.StartTimer()
		}
		src, sport := floodSource(k)
		synSource(p, src, sport)
		ci, ct := tb.In(p, t0, 0)
		if ct == nil {
			b.Fatalf("SYN %d: %v", i, ci)
		}
		tb.Confirm(ct, ci, t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conn/s")
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(float64(unsafe.Sizeof(Conn{})), "B/Conn-struct")
}

// flood runs n SYNs from distinct sources (starting at source first)
// through In and Confirm at 1 µs intervals from *now, checking after each
// that the table holds at most max entries, and every `every` packets that
// the established flow's packets are still ESTABLISHED. It returns how
// many flood SYNs conntrack dropped (table full, nothing early-droppable).
func flood(t testing.TB, tb *Table, syn, est, estR *packet.Parsed, first, n, every int, now *int64) (dropped int) {
	max := tb.Config().Max
	for i := 0; i < n; i++ {
		src, sport := floodSource(first + i)
		synSource(syn, src, sport)
		*now += 1000
		ci, ct := tb.In(syn, *now, 0)
		switch {
		case ci == Drop:
			dropped++
		case ct == nil:
			t.Fatalf("flood SYN %d: %v", first+i, ci)
		default:
			tb.Confirm(ct, ci, *now)
		}
		if c := tb.Count(); c > max {
			t.Fatalf("after flood SYN %d: %d entries, nf_conntrack_max %d", first+i, c, max)
		}
		if every > 0 && i%every == 0 {
			for _, q := range []*packet.Parsed{est, estR} {
				ci, ct := tb.In(q, *now, 0)
				if ct == nil || (ci != Established && ci != EstablishedReply) {
					t.Fatalf("established flow during flood (SYN %d): %v", first+i, ci)
				}
				tb.Confirm(ct, ci, *now)
			}
		}
	}
	return dropped
}

func floodTable(max int) *Table {
	cfg := DefaultConfig()
	cfg.Max = max
	cfg.Buckets = max // the kernel's ratio on a machine with > 4 GiB
	return NewTable(cfg)
}

// TestSynFloodBounded: a SYN flood from distinct sources into a full
// table (nf_conntrack_max 1024) keeps the table at or below its maximum
// (new SYNs early-drop unassured entries) while an established, ASSURED
// flow keeps getting ESTABLISHED.
func TestSynFloodBounded(t *testing.T) {
	const max = 1024
	tb := floodTable(max)
	now := t0
	openFlow(t, tb, now)
	est := tcpPkt(t, true, A, 1001, 5001, 0)
	estR := tcpPkt(t, false, A, 5001, 1001, 0)
	syn := synTo(t, 80)
	dropped := flood(t, tb, syn, est, estR, 0, 50*max, 7, &now)
	if tb.Count() > max || tb.Count() < max/2 {
		t.Fatalf("%d entries after the flood, max %d", tb.Count(), max)
	}
	if tb.StatEarlyDrop.Load() == 0 {
		t.Fatal("no early drops")
	}
	if dropped > 50*max/100 {
		t.Fatalf("%d of %d flood SYNs dropped", dropped, 50*max)
	}
	if ct, _ := tb.Find(tupleOf(est), 0, now); ct == nil || ct.Status()&StatusAssured == 0 {
		t.Fatal("established flow's entry gone")
	}
}

// BenchmarkSynFlood: SYNs from distinct sources (2^24 addresses) arriving
// 1 µs apart on the injected clock, each through In and Confirm, into a
// table at nf_conntrack_max (filled by the flood itself before the timer
// starts), with an established flow's packet in each direction every 1024
// flood packets. Asserts the table never exceeds its maximum and the flow
// stays ESTABLISHED; reports flood packets per second (established packets
// not counted) and the share of flood SYNs conntrack had to drop.
func BenchmarkSynFlood(b *testing.B) {
	for _, max := range []int{65536} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			tb := floodTable(max)
			now := t0
			openFlow(b, tb, now)
			est := tcpPkt(b, true, A, 1001, 5001, 0)
			estR := tcpPkt(b, false, A, 5001, 1001, 0)
			syn := synTo(b, 80)
			flood(b, tb, syn, est, estR, 0, 2*max, 1024, &now) // fill
			if tb.Count() < max*9/10 {
				b.Fatalf("not full: %d", tb.Count())
			}
			ed0 := tb.StatEarlyDrop.Load()
			b.ReportAllocs()
			b.ResetTimer()
			dropped := flood(b, tb, syn, est, estR, 2*max, b.N, 1024, &now)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flood-pkts/s")
			b.ReportMetric(100*float64(dropped)/float64(b.N), "%dropped")
			b.ReportMetric(float64(tb.StatEarlyDrop.Load()-ed0)/float64(b.N), "earlydrops/pkt")
			if tb.Count() > max {
				b.Fatalf("%d entries, max %d", tb.Count(), max)
			}
		})
	}
}
