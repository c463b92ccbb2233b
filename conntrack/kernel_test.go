package conntrack

import (
	"bytes"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/packet"
)

// TestKernelConntrackList sends real traffic from namespace a to namespace
// b, where a `-m state` rule makes the kernel track connections, captures
// b's side with tcpdump, feeds the captured packets to a Table (inbound
// ones through In, outbound ones through InLocal, each confirmed) and
// compares b's `conntrack -L` with the table's listing, timeouts aside.
func TestKernelConntrackList(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("kernel conntrack comparison needs root, network namespaces and iptables-legacy: " + why)
	}
	for _, tool := range []string{"tcpdump", "conntrack", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("kernel conntrack comparison needs " + tool)
		}
	}
	a, b := netns.New(t), netns.New(t)
	const macA, macB = "02:00:00:00:02:0a", "02:00:00:00:02:0b"
	if out, err := exec.Command("ip", "link", "add", "va", "netns", a.Name, "address", macA, "type", "veth", "peer", "name", "vb", "netns", b.Name, "address", macB).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	a.MustRun(t, "ip", "addr", "add", "10.78.0.1/24", "dev", "va")
	b.MustRun(t, "ip", "addr", "add", "10.78.0.2/24", "dev", "vb")
	a.MustRun(t, "ip", "link", "set", "va", "up")
	b.MustRun(t, "ip", "link", "set", "vb", "up")
	b.MustRun(t, "iptables-legacy", "-A", "INPUT", "-m", "state", "--state", "NEW")
	// b's answer to the stray ACK below is dropped before conntrack sees
	// it, so that the picked-up entry stays.
	b.MustRun(t, "iptables-legacy", "-t", "raw", "-A", "OUTPUT", "-p", "tcp", "--sport", "2224", "-j", "DROP")
	// The table's defaults are the kernel's; say which sysctls b has.
	for _, s := range Sysctls[2:] {
		out, _, _ := b.Run("sysctl", "-n", "net.netfilter."+s.Name)
		if v := strings.TrimSpace(out); v != "" && v != itoa(s.Default) {
			t.Logf("namespace has %s = %s (compiled-in default %d)", s.Name, v, s.Default)
		}
	}

	pcap := t.TempDir() + "/b.pcap"
	dump := exec.Command("ip", "netns", "exec", b.Name, "tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n", "-i", "vb", "-w", pcap, "ip")
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	server := exec.Command("ip", "netns", "exec", b.Name, "python3", "-c", `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.2", 2222)); s.listen(5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.78.0.2", 5353))
c, _ = s.accept(); c.recv(100); c.sendall(b"x" * 3000); c.close()
c2, _ = s.accept(); c2.sendall(b"hello")
d, addr = u.recvfrom(100); u.sendto(d, addr)
time.sleep(6)
`)
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	time.Sleep(1500 * time.Millisecond) // tcpdump and the server need a moment
	a.Run("ping", "-c", "2", "-i", "0.2", "-W", "1", "10.78.0.2")
	if out, errOut, code := a.Run("timeout", "5", "python3", "-c", `
import socket, time
c = socket.create_connection(("10.78.0.2", 2222)); c.sendall(b"req")
n = 0
while True:
    d = c.recv(4096)
    if not d: break
c.close()
c2 = socket.create_connection(("10.78.0.2", 2222)); c2.recv(10)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
u.sendto(b"q", ("10.78.0.2", 5353)); u.recv(10)
u.sendto(b"q", ("10.78.0.2", 9999))
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253); r.sendto(b"abcdabcd", ("10.78.0.2", 0))
import struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
# A stray ACK with data, picked up mid-stream (nf_conntrack_tcp_loose).
seg = struct.pack("!HHIIBBHHH", 41000, 2224, 123456, 654321, 5 << 4, 0x18, 501, 0, 0) + b"data"
ph = socket.inet_aton("10.78.0.1") + socket.inet_aton("10.78.0.2") + struct.pack("!BBH", 0, 6, len(seg))
seg = seg[:16] + struct.pack("!H", csum(ph + seg)) + seg[18:]
t = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); t.sendto(seg, ("10.78.0.2", 0))
time.sleep(0.3)
`); code != 0 {
		t.Fatalf("client: %d %s %s", code, out, errOut)
	}
	a.Run("timeout", "2", "bash", "-c", "echo > /dev/tcp/10.78.0.2/23") // refused: RST, no entry left
	time.Sleep(500 * time.Millisecond)
	kernel, _, code := b.Run("conntrack", "-L")
	listedAt := time.Now().UnixNano()
	kproc, _, _ := b.Run("cat", "/proc/net/nf_conntrack")
	dump.Process.Signal(os.Interrupt)
	dump.Wait()
	if code != 0 {
		t.Fatalf("conntrack -L failed (%d)", code)
	}

	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	// veth leaves checksums to be completed (CHECKSUM_PARTIAL), so the
	// captured bytes may carry unfinished ones the kernel never checks.
	cfg.Checksum = false
	tb := NewTable(cfg)
	var last int64
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) < 34 || data[12] != 0x08 || data[13] != 0x00 {
			continue
		}
		var p packet.Parsed
		if p.Decode(data[14:]) != nil {
			continue
		}
		now := ci.Timestamp.UnixNano()
		last = now
		var ct *Conn
		var cinfo CtInfo
		if bytes.Equal(data[6:12], []byte{2, 0, 0, 0, 2, 0x0b}) {
			cinfo, ct = tb.InLocal(&p, now, 0)
		} else {
			cinfo, ct = tb.In(&p, now, 0)
		}
		tb.Confirm(ct, cinfo, now)
		n++
	}
	var out bytes.Buffer
	tb.WriteList(&out, listedAt)
	got, want := normalize(out.String()), normalize(kernel)
	if got != want {
		t.Fatalf("conntrack -L differs (timeouts aside) after %d packets\nkernel:\n%s\nnfgo:\n%s", n, want, got)
	}
	// The timeouts agree to within a second (the listing times differ).
	kt, nt := listTimeouts(kernel), listTimeouts(out.String())
	for k, v := range kt {
		if d := v - nt[k]; d > 1 || d < -1 {
			t.Errorf("timeout of %s: kernel %d, nfgo %d", k, v, nt[k])
		}
	}
	_ = last
	out.Reset()
	tb.WriteProc(&out, listedAt)
	if got, want := normalizeProc(out.String()), normalizeProc(kproc); got != want {
		t.Errorf("/proc/net/nf_conntrack differs (timeouts aside)\nkernel:\n%s\nnfgo:\n%s", want, got)
	}
	if strings.Count(want, "\n") < 5 {
		t.Fatalf("too few entries to compare:\n%s", want)
	}
	t.Logf("%d packets; conntrack -L identical (timeouts aside):\n%s", n, kernel)
}

// normalize drops the timeout column and sorts the lines.
func normalize(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(l)
		if len(f) > 3 {
			f[2] = "T"
		}
		lines = append(lines, strings.Join(f, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// normalizeProc drops the timeout column of /proc/net/nf_conntrack lines
// and sorts them.
func normalizeProc(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(l)
		if len(f) > 5 {
			f[4] = "T"
		}
		lines = append(lines, strings.Join(f, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// listTimeouts maps each line (timeout aside) to its timeout column.
func listTimeouts(s string) map[string]int {
	m := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(l)
		if len(f) > 3 {
			v := 0
			for _, c := range f[2] {
				v = v*10 + int(c-'0')
			}
			f[2] = "T"
			m[strings.Join(f, " ")] = v
		}
	}
	return m
}

func itoa(v int) string {
	var b []byte
	if v == 0 {
		return "0"
	}
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}
