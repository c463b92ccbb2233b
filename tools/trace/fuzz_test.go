package trace

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/packet"
)

// fuzzRules exercise conntrack, LOG, REJECT, TRACE and the port matches
// on whatever the capture holds.
const fuzzRules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -j TRACE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "invalid: " --log-tcp-options --log-ip-options --log-tcp-sequence
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m multiport --dports 22,80 -m recent --set --name SSH
-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT
-A INPUT -p icmp -m limit --limit 1/sec -j ACCEPT
-A FORWARD -m length --length 0:100 -j LOG
COMMIT
`

// FuzzPcap: any capture given to "nfgo trace --pcap" is read to its end
// or refused with a message, never a panic or a hang.
func FuzzPcap(f *testing.F) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	eth := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0}
	for _, p := range [][]byte{
		packet.Build(&packet.Spec{Src: 0xcb007105, Dst: 0x0a000001, Proto: packet.ProtoTCP, SrcPort: 4000, DstPort: 22, TCPFlags: packet.TCPSyn, Seq: 1}),
		packet.Build(&packet.Spec{Src: 0xcb007105, Dst: 0x0a000001, Proto: packet.ProtoUDP, SrcPort: 4000, DstPort: 53, PayloadLen: 4}),
		packet.Build(&packet.Spec{Src: 0xcb007105, Dst: 0x0a000001, Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 1, ICMPSeq: 1}),
	} {
		d := append(append([]byte(nil), eth...), p...)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1e9, 0), CaptureLength: len(d), Length: len(d)}, d)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:30])
	dir := f.TempDir()
	rf := filepath.Join(dir, "rules")
	os.WriteFile(rf, []byte(fuzzRules), 0o644)
	f.Fuzz(func(t *testing.T, capture []byte) {
		pf := filepath.Join(t.TempDir(), "c.pcap")
		if err := os.WriteFile(pf, capture, 0o644); err != nil {
			t.Fatal(err)
		}
		Main([]string{"--rules", rf, "--pcap", pf, "--in", "eth0"}, &Env{Stdout: io.Discard, Stderr: io.Discard, StateDir: dir})
	})
}
