package kerneldiff

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

func TestMain(m *testing.M) {
	MaybeSend()
	os.Exit(m.Run())
}

func addr(ip []byte) uint32 { return binary.BigEndian.Uint32(ip) }

func syn(tp *Topo, src, dst []byte, sport, dport uint16) []byte {
	return packet.Build(&packet.Spec{Src: addr(src), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: sport, DstPort: dport,
		TCPFlags: packet.TCPSyn, Seq: 1000, DF: true, TCPOptions: []byte{2, 4, 5, 0xb4}})
}

// Traversal semantics: jump, goto, RETURN, falling off a user chain,
// policies of every table at every hook, rules without a target, counters.
var traversal = &Scenario{
	Name: "traversal",
	Rules: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp
-A FORWARD -p tcp -m tcp --dport 81
-A POSTROUTING -o r1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
:deny - [0:0]
:tail - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j deny
-A INPUT -p tcp -m tcp --dport 23 -j DROP
-A FORWARD -i r0 -o r1 -p tcp -m tcp --dport 80:89 -j web
-A FORWARD -p tcp -m tcp --dport 90 -g tail
-A FORWARD -i r0 -p tcp -m tcp --sport 5000 -j ACCEPT
-A web -p tcp -m tcp --dport 80 -j ACCEPT
-A web -p tcp -m tcp --dport 81 -j RETURN
-A web -s 10.NET.1.0/24 -p tcp -m tcp --dport 82 -j ACCEPT
-A deny -p tcp -m tcp --sport 1000:2000 -j DROP
-A tail -p tcp -m tcp --sport 7 -j ACCEPT
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		c, s, r := tp.ClientIP, tp.ServerIP, tp.RouterIn
		Send(t, tp.C,
			syn(tp, c, s, 4000, 80), // web: ACCEPT
			syn(tp, c, s, 4000, 81), // web RETURN, falls to policy DROP
			syn(tp, c, s, 4000, 82), // web rule 3 ACCEPT
			syn(tp, c, s, 5000, 83), // web falls off, FORWARD rule 3 ACCEPT
			syn(tp, c, s, 7, 90),    // goto tail: ACCEPT
			syn(tp, c, s, 8, 90),    // goto tail, falls off: policy
			syn(tp, c, r, 1500, 22), // INPUT deny: DROP
			syn(tp, c, r, 3000, 22), // deny returns; INPUT policy ACCEPT, RST back through OUTPUT
			syn(tp, c, r, 3000, 23), // DROP
		)
	},
}

func TestKernelTraversal(t *testing.T) {
	tp := NewTopo(t)
	k, frames := RunKernel(t, tp, traversal)
	n := RunNfgo(t, tp, traversal, frames)
	if Compare(t, traversal.Name, k, n) {
		t.Logf("traversal: identical (%d frames)\n%s", len(frames), k.Save)
	}
}
