package logline

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/internal/netns"
)

// TestKernelLOGLines sends real packets between two namespaces, lets the
// kernel's LOG target log them (INPUT and OUTPUT, every log flag),
// captures the same packets with tcpdump, formats each captured packet
// with this package and compares the lines with the kernel's, byte for
// byte (dmesg's timestamp aside).
func TestKernelLOGLines(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("kernel LOG comparison needs root, network namespaces and iptables-legacy: " + why)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("kernel LOG comparison needs tcpdump")
	}
	if out, err := exec.Command("sysctl", "-w", "net.netfilter.nf_log_all_netns=1").CombinedOutput(); err != nil {
		t.Skipf("cannot enable logging in namespaces: %v %s", err, out)
	}
	a, b := netns.New(t), netns.New(t)
	const macA, macB = "02:00:00:00:01:0a", "02:00:00:00:01:0b"
	if out, err := exec.Command("ip", "link", "add", "va", "netns", a.Name, "address", macA, "type", "veth", "peer", "name", "vb", "netns", b.Name, "address", macB).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	a.MustRun(t, "ip", "addr", "add", "10.77.0.1/24", "dev", "va")
	b.MustRun(t, "ip", "addr", "add", "10.77.0.2/24", "dev", "vb")
	a.MustRun(t, "ip", "link", "set", "va", "up")
	b.MustRun(t, "ip", "link", "set", "vb", "up")
	prefix := fmt.Sprintf("nfgo%d ", time.Now().UnixNano()%100000)
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		b.MustRun(t, "iptables-legacy", "-A", chain, "-j", "LOG", "--log-prefix", prefix+chain+" ",
			"--log-tcp-sequence", "--log-tcp-options", "--log-ip-options")
	}
	b.MustRun(t, "iptables-legacy", "-t", "mangle", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "3", "-j", "MARK", "--set-mark", "0x2a")
	pcap := t.TempDir() + "/b.pcap"
	dump := exec.Command("ip", "netns", "exec", b.Name, "tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n", "-i", "vb", "-w", pcap, "ip")
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)                                        // tcpdump needs a moment to attach
	a.Run("ping", "-c", "2", "-i", "0.2", "-s", "70", "-W", "1", "10.77.0.2")  // echo and reply
	a.Run("timeout", "2", "bash", "-c", "echo > /dev/tcp/10.77.0.2/22")        // SYN with options, RST back
	a.Run("timeout", "2", "bash", "-c", "echo hi > /dev/udp/10.77.0.2/9999")   // UDP, ICMP port unreachable back
	b.Run("ping", "-c", "1", "-W", "1", "-Q", "0x10", "-p", "ff", "10.77.0.1") // OUTPUT with TOS
	time.Sleep(500 * time.Millisecond)
	dump.Process.Signal(os.Interrupt)
	dump.Wait()

	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) < 14 {
			continue
		}
		eth := layers.Ethernet{}
		if eth.DecodeFromBytes(data, nil) != nil || eth.EthernetType != layers.EthernetTypeIPv4 {
			continue
		}
		p := &Packet{IP: data[14:], Flags: TCPSeq | TCPOpt | IPOpt, HardHeaderLen: 14, MACEther: true}
		if eth.SrcMAC.String() == macB {
			p.Prefix, p.Out = prefix+"OUTPUT ", "vb"
			if data[14+9] == 1 && data[14+20] == 3 {
				p.Mark = 0x2a
			}
		} else {
			p.Prefix, p.In, p.MAC = prefix+"INPUT ", "vb", data[:14]
		}
		want = append(want, string(Append(nil, p)))
	}
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, prefix); i >= 0 {
			got = append(got, line[i:])
		}
	}
	if len(want) < 8 {
		t.Fatalf("only %d packets captured", len(want))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("kernel LOG lines differ from nfgo's\nkernel:\n%s\nnfgo:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("%d LOG lines identical to the kernel's:\n%s", len(got), strings.Join(got, "\n"))
}
