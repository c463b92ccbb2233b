package kerneldiff

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// IPv4 reassembly: fragmented UDP and ICMP to the router and through it,
// with and without connection tracking (with it, nf_defrag_ipv4 reassembles
// before the raw table and the router cuts forwarded datagrams again on
// output; without it, forwarded fragments pass one by one and those for
// the router are reassembled before INPUT). LOG in raw PREROUTING, INPUT,
// FORWARD and POSTROUTING shows what each hook saw; the fragments leaving
// the router must be the ones nfgo emits. r1's MTU is lowered to 1000 so
// that one datagram is cut to the MTU and one with DF is refused with
// "fragmentation needed"; ipfrag_time is 1 s so that an incomplete
// datagram for the router expires during the test with a "fragment
// reassembly time exceeded".
const defragRules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i r0 -j LOG --log-prefix "raw-pre: " --log-ip-options
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o r1 -j LOG --log-prefix "post: "
-A POSTROUTING -f
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i r0 -j LOG --log-prefix "in: "
-A INPUT -f
-A FORWARD -i r0 -j LOG --log-prefix "fwd: "
-A FORWARD -f
-A FORWARD -p udp
-A FORWARD -p icmp
CTRULE
COMMIT
`

// fragsOf cuts a whole datagram at the given payload offsets (multiples
// of 8); DF, if set, stays on every fragment.
func fragsOf(whole []byte, cuts ...int) [][]byte {
	ihl := int(whole[0]&0x0F) * 4
	data := whole[ihl:]
	df := binary.BigEndian.Uint16(whole[6:8]) & packet.FlagDF
	bounds := append(append([]int{0}, cuts...), len(data))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		f := append(append([]byte(nil), whole[:ihl]...), data[bounds[i]:bounds[i+1]]...)
		v := df | uint16(bounds[i]/8)
		if i+2 < len(bounds) {
			v |= packet.FlagMF
		}
		binary.BigEndian.PutUint16(f[6:], v)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], packet.Checksum16(f[:ihl], 0))
		out = append(out, f)
	}
	return out
}

func defragTraffic(t *testing.T, tp *Topo) {
	tp.R.MustRun(t, "sysctl", "-qw", "net.ipv4.ipfrag_time=1")
	tp.R.MustRun(t, "ip", "link", "set", "r1", "mtu", "1000")
	c, r, s := addr(tp.ClientIP), addr(tp.RouterIn), addr(tp.ServerIP)
	u := func(dst uint32, id uint16, n int, df bool) []byte {
		return packet.Build(&packet.Spec{Src: c, Dst: dst, Proto: packet.ProtoUDP, SrcPort: 4000 + id, DstPort: 7000 + id, PayloadLen: n, ID: id, DF: df})
	}
	echo := func(dst uint32, id uint16, total int) []byte {
		return packet.Build(&packet.Spec{Src: c, Dst: dst, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: id, ICMPSeq: 1, TotalLen: total, ID: id})
	}
	a := fragsOf(u(r, 101, 1200, false), 600)      // to the router, in order
	b := fragsOf(u(s, 102, 1200, false), 400, 800) // forwarded, reversed
	cc := fragsOf(echo(r, 103, 1400), 704)         // ping the router
	d := fragsOf(echo(s, 104, 1400), 704)          // ping the server, a duplicate
	e := fragsOf(u(s, 105, 1400, false), 1000)     // over r1's MTU
	f := fragsOf(u(s, 106, 1400, true), 1000)      // over r1's MTU with DF
	g := fragsOf(u(r, 107, 1000, false), 496)      // incomplete, to the router
	h := fragsOf(u(s, 108, 1000, false), 496)      // incomplete, forwarded
	Send(t, tp.C,
		a[0], a[1],
		b[2], b[1], b[0],
		cc[0], cc[1],
		d[0], d[0], d[1],
		e[0], e[1],
		f[0], f[1],
		g[0],
		h[0],
	)
	time.Sleep(2500 * time.Millisecond) // ipfrag_time and the timer's slack
}

func runDefrag(t *testing.T, name, ctRule string) {
	sc := &Scenario{
		Name:    name,
		Rules:   replaceOnce(defragRules, "CTRULE\n", ctRule),
		Traffic: defragTraffic,
	}
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, sc)
	n := RunNfgo(t, tp, sc, frames)
	if Compare(t, sc.Name, k, n) {
		t.Logf("%s: identical: %d LOG lines, counters (%d frames)\n%s", name, len(k.Log), len(frames), k.Save)
	}
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

func TestKernelDefragConntrack(t *testing.T) {
	runDefrag(t, "defrag-conntrack", "-A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED\n")
}

func TestKernelDefragNoConntrack(t *testing.T) {
	runDefrag(t, "defrag-no-conntrack", "")
}
