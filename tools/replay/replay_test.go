package replay

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/capture"
	"github.com/nfgo/nfgo/examples/seedcapture"
	"github.com/nfgo/nfgo/packet"
)

const hostJSON = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
{"ifindex":2,"ifname":"eth0","flags":["UP"],"mtu":1500,"link_type":"ether","address":"02:00:00:00:00:01","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24,"broadcast":"10.0.0.255"}]},
{"ifindex":3,"ifname":"eth1","flags":["UP"],"mtu":1500,"link_type":"ether","address":"02:00:00:00:00:02","addr_info":[{"family":"inet","local":"192.168.1.1","prefixlen":24,"broadcast":"192.168.1.255"}]}]`

const routesJSON = `[{"dst":"10.0.0.0/24","dev":"eth0"},{"dst":"192.168.1.0/24","dev":"eth1"}]`

const rulesText = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.1.10:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m conntrack --ctstate DNAT -j LOG --log-prefix "fwd: "
-A FORWARD -p tcp -m conntrack --ctstate DNAT -j ACCEPT
COMMIT
`

var (
	macPeer = []byte{2, 0, 0, 0, 0, 0xfe}
	macEth0 = []byte{2, 0, 0, 0, 0, 1}
	macEth1 = []byte{2, 0, 0, 0, 0, 2}
	macSrv  = []byte{2, 0, 0, 0, 0, 0x10}
)

func frame(dst, src []byte, ip []byte) []byte {
	return append(append(append(append([]byte{}, dst...), src...), 8, 0), ip...)
}

// A port-forwarded SYN arriving on eth0 and leaving eth1 rewritten, a
// dropped packet, and (with extra) a frame the host sent on eth1 that
// nfgo's ruleset drops: one capture per interface, as tcpdump -i eth0
// and -i eth1 write them.
func writeCaptures(t *testing.T, extra bool) (string, string) {
	syn := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0x0a000001, Proto: packet.ProtoTCP, SrcPort: 40000, DstPort: 8080, TCPFlags: packet.TCPSyn, TTL: 64})
	out := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0xc0a8010a, Proto: packet.ProtoTCP, SrcPort: 40000, DstPort: 80, TCPFlags: packet.TCPSyn, TTL: 63})
	udp := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0xc0a8010a, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 53})
	// Times in µs after 1700000000 s.
	eth0 := []timed{{0, frame(macEth0, macPeer, syn)}, {200, frame(macEth0, macPeer, udp)}}
	eth1 := []timed{{100, frame(macSrv, macEth1, out)}}
	if extra {
		eth1 = append(eth1, timed{300, frame(macSrv, macEth1, udp)})
	}
	write := func(frames []timed) string {
		var b bytes.Buffer
		w := pcapgo.NewWriter(&b)
		w.WriteFileHeader(65535, layers.LinkTypeEthernet)
		for _, f := range frames {
			w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, f.us*1000), CaptureLength: len(f.b), Length: len(f.b)}, f.b)
		}
		p := filepath.Join(t.TempDir(), "c.pcap")
		os.WriteFile(p, b.Bytes(), 0o644)
		return p
	}
	return write(eth0), write(eth1)
}

type timed struct {
	us int64
	b  []byte
}

func runReplay(t *testing.T, extra bool) (dir, stdout string, code int) {
	dir = t.TempDir()
	w := func(n, s string) string { p := filepath.Join(dir, n); os.WriteFile(p, []byte(s), 0o644); return p }
	var out, errb bytes.Buffer
	c0, c1 := writeCaptures(t, extra)
	code = Main([]string{"--rules", w("r", rulesText), "--host", w("h", hostJSON), "--routes", w("rt", routesJSON),
		"--log", filepath.Join(dir, "log"), "--verdicts", filepath.Join(dir, "v"), "--conntrack", filepath.Join(dir, "ct"),
		"--save-counters", filepath.Join(dir, "c"), "eth0=" + c0, "eth1=" + c1}, &Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()})
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return dir, out.String(), code
}

func TestReplayOutputs(t *testing.T) {
	dir, out, code := runReplay(t, false)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"received 2, forwarded 1 (matched byte for byte)", "verdicts: ACCEPT 1 DROP 1", "disagreements: 0\n",
		"        1  -A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.1.10:80\n",
		"        1  DROP at FORWARD (filter FORWARD policy)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	if want := "[1700000000.000000] fwd: IN=eth0 OUT=eth1 MAC=02:00:00:00:00:01:02:00:00:00:00:fe:08:00 SRC=10.0.0.5 DST=192.168.1.10 "; !strings.HasPrefix(string(log), want) {
		t.Errorf("log: %q", log)
	}
	v, _ := os.ReadFile(filepath.Join(dir, "v"))
	lines := strings.Split(strings.TrimSpace(string(v)), "\n")
	if len(lines) != 3 {
		t.Fatalf("verdicts: %q", v)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["outcome"] != "sent out eth1" || first["nat"] != "10.0.0.5:40000 -> 10.0.0.1:8080 tcp => 10.0.0.5:40000 -> 192.168.1.10:80 tcp" || first["kind"] != "received" {
		t.Errorf("first verdict: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"kind":"forwarded"`) || !strings.Contains(lines[2], `"verdict":"DROP"`) {
		t.Errorf("verdicts:\n%s", v)
	}
	ct, _ := os.ReadFile(filepath.Join(dir, "ct"))
	if !strings.Contains(string(ct), "src=10.0.0.5 dst=10.0.0.1 sport=40000 dport=8080 [UNREPLIED] src=192.168.1.10 dst=10.0.0.5 sport=80 dport=40000") {
		t.Errorf("conntrack: %q", ct)
	}
	c, _ := os.ReadFile(filepath.Join(dir, "c"))
	if !strings.Contains(string(c), ":FORWARD DROP [1:") {
		t.Errorf("counters: %s", c)
	}
}

// A frame the host sent that nfgo's ruleset drops is a disagreement:
// reported, and the exit status says so.
func TestReplayDisagreement(t *testing.T) {
	_, out, code := runReplay(t, true)
	if code != 3 || !strings.Contains(out, "disagreements: 1\n") || !strings.Contains(out, "the host forwarded a packet nfgo does not forward") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestReplayUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"--bogus"}, &Env{Stdout: &out, Stderr: &errb}); code != 2 || !strings.Contains(errb.String(), `unknown option "--bogus"`) {
		t.Fatalf("%d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main([]string{"x.pcap"}, &Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()}); code != 1 || !strings.Contains(errb.String(), "--host FILE is needed") {
		t.Fatalf("%d %q", code, errb.String())
	}
}

// README's main job: the bundled example capture through the bundled
// seed ruleset, with no disagreement, the REJECT resets paired with the
// frames the host sent, the port-forwarded SYN leaving rewritten, and the
// seed recipes' LOG lines.
func TestBundledExample(t *testing.T) {
	root := filepath.Join("..", "..")
	pcap := filepath.Join(root, "examples", "host-firewall.pcap")
	onDisk, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, seedcapture.Capture()) {
		t.Fatal("examples/host-firewall.pcap is not what examples/mkcapture writes: run `go run ./examples/mkcapture`")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main([]string{"--rules", filepath.Join(root, "examples", "host-firewall.rules"), "--host", filepath.Join(root, "examples", "host.json"),
		"--routes", filepath.Join(root, "examples", "routes.json"), "--log", filepath.Join(dir, "log"),
		"--recent", filepath.Join(dir, "recent"), "--save-sets", filepath.Join(dir, "sets"),
		"--accepted", filepath.Join(dir, "acc.pcap"), "--dropped", filepath.Join(dir, "drop.pcap"), "eth0=" + pcap},
		&Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()})
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"received 11, forwarded 1 (matched byte for byte), replies 2,", "disagreements: 0\n",
		"         2  DROP at INPUT (filter ssh_guard rule 1)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	// The recent lists as /proc/net/xt_recent shows them at the end.
	ssh, _ := os.ReadFile(filepath.Join(dir, "recent", "SSH"))
	knock, _ := os.ReadFile(filepath.Join(dir, "recent", "sshopen"))
	if !strings.Contains(string(ssh), "src=203.0.113.7 ttl: 52 last_seen: ") || !strings.Contains(string(ssh), " oldest_pkt: 3 ") ||
		!strings.Contains(string(ssh), "src=198.51.100.9 ttl: 52") ||
		!strings.HasPrefix(string(knock), "src=198.51.100.9 ttl: 57 ") {
		t.Errorf("recent lists:\nSSH: %q\nsshopen: %q", ssh, knock)
	}
	// Received packets split by verdict: 7 accepted, 4 dropped.
	for f, n := range map[string]int{"acc.pcap": 7, "drop.pcap": 4} {
		ps, err := capture.Read(capture.Source{Path: filepath.Join(dir, f), Iface: "eth0"}, nil, nil)
		if err != nil || len(ps) != n {
			t.Errorf("%s: %d packets (%v), want %d", f, len(ps), err, n)
		}
	}
	if sets, err := os.ReadFile(filepath.Join(dir, "sets")); err != nil || len(sets) != 0 {
		t.Errorf("sets: %q %v (the example has none)", sets, err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	for _, want := range []string{
		"[1795428030.000000] SSHOPEN: IN=eth0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:fe:08:00 SRC=198.51.100.9 DST=10.176.7.5 LEN=78 ",
		"[1795428040.000000] [plantegg] IN=eth0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:20:08:00 SRC=10.176.7.20 DST=10.176.7.5 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=3306 DPT=51234 SEQ=777 ACK=888 ",
		"[1795428015.000000] [plantegg] IN= OUT=eth0 SRC=10.176.7.5 DST=203.0.113.7 LEN=40 ",
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
