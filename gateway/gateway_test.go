package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/logpipe"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/store"
	"github.com/nfgo/nfgo/xt"
)

const serverScript = `
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080))
l.listen(8)
print("listening", flush=True)
for _ in range(int(sys.argv[1])):
    c, peer = l.accept()
    c.sendall(("hello %s\n" % peer[0]).encode())
    c.close()
`

const clientScript = `
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    print(s.recv(100).decode().strip())
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e)
`

func rulesFor(cdev, sdev string) string {
	return fmt.Sprintf(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.77.1.1/32 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.77.2.2:8080
-A POSTROUTING -o %[2]s -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 9999 -j REJECT --reject-with tcp-reset
-A FORWARD -i %[1]s -p tcp -m tcp --syn -j LOG --log-prefix "[gw-new] "
-A FORWARD -i %[1]s -p tcp -j ACCEPT
-A FORWARD -i %[1]s -p udp -j ACCEPT
-A FORWARD -p icmp -j ACCEPT
COMMIT
`, cdev, sdev)
}

// End to end with real programs: a client namespace and a server
// namespace, each behind one of the gateway's TUN devices. Ping crosses
// the gateway and the gateway answers its own ping; TCP and UDP cross it
// MASQUERADEd (the server sees the gateway's address); a DNAT port
// forward reaches the server; REJECT reaches the client as "connection
// refused"; the LOG rule's lines reach the log file; the connections
// show in the gateway's table; and a rule change from the store (Reload)
// takes effect on the next packet.
func TestGatewayEndToEnd(t *testing.T) {
	requireLive(t, "python3")
	c, s := netns.New(t), netns.New(t)
	devs := liveDevices(c, s, "nfg", 77, 0)
	cdev, sdev := devs[0].Name, devs[1].Name
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rulesFor(cdev, sdev)), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "packets.log")
	sink, err := logpipe.OpenFile(logPath, logpipe.FileOptions{Stamp: logpipe.StampDmesg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() }) // after the gateway stops (cleanups run last first)
	g := runGateway(t, Config{StateDir: dir, Log: sink, Devices: devs})
	for _, x := range []*netns.NS{c, s} {
		x.MustRun(t, "ip", "link", "set", "lo", "up")
	}

	if _, e, code := c.Run("ping", "-c", "1", "-W", "3", "10.77.2.2"); code != 0 {
		t.Fatalf("ping across the gateway failed: %s", e)
	}
	if _, e, code := c.Run("ping", "-c", "1", "-W", "3", "10.77.1.1"); code != 0 {
		t.Fatalf("the gateway did not answer its own ping: %s", e)
	}
	// The ICMP errors a router sends: time exceeded for a TTL of 1, net
	// unreachable where it has no route.
	if o, _, _ := c.Run("ping", "-c", "1", "-W", "2", "-t", "1", "10.77.2.2"); !strings.Contains(o, "From 10.77.1.1 icmp_seq=1 Time to live exceeded") {
		t.Errorf("ping -t 1 across the gateway: %q", o)
	}
	if o, _, _ := c.Run("ping", "-c", "1", "-W", "2", "192.0.2.1"); !strings.Contains(o, "From 10.77.1.1 icmp_seq=1 Destination Net Unreachable") {
		t.Errorf("ping to an unrouted address: %q", o)
	}

	server := exec.Command("ip", "netns", "exec", s.Name, "python3", "-c", serverScript, "2")
	out, _ := server.StdoutPipe()
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	ready := make([]byte, 10)
	out.Read(ready)
	for _, want := range []struct{ addr, port, reply string }{
		{"10.77.2.2", "8080", "hello 10.77.2.1"}, // MASQUERADE: the server sees the gateway
		{"10.77.1.1", "9090", "hello 10.77.2.1"}, // DNAT port forward, then MASQUERADE
		{"10.77.2.2", "9999", "refused"},         // REJECT --reject-with tcp-reset
	} {
		got, e, _ := c.Run("python3", "-c", clientScript, want.addr, want.port)
		if strings.TrimSpace(got) != want.reply {
			t.Errorf("client to %s:%s: %q (stderr %q), want %q", want.addr, want.port, got, e, want.reply)
		}
	}
	server.Wait()

	// UDP across, MASQUERADEd: an echo server in the server namespace.
	udpServer := exec.Command("ip", "netns", "exec", s.Name, "python3", "-c", `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 5353))
print("ready", flush=True)
b, peer = u.recvfrom(100)
u.sendto(b + (" from " + peer[0]).encode(), peer)
`)
	uout, _ := udpServer.StdoutPipe()
	if err := udpServer.Start(); err != nil {
		t.Fatal(err)
	}
	defer udpServer.Process.Kill()
	uout.Read(make([]byte, 6))
	got, e, _ := c.Run("python3", "-c", `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.sendto(b"ping", ("10.77.2.2", 5353))
print(u.recvfrom(100)[0].decode())
`)
	if strings.TrimSpace(got) != "ping from 10.77.2.1" {
		t.Errorf("UDP across the gateway: %q %s", got, e)
	}
	udpServer.Wait()

	var ct strings.Builder
	g.Stack.CT.WriteList(&ct, time.Now().UnixNano())
	for _, want := range []string{
		"src=10.77.1.2 dst=10.77.2.2 sport=", // the MASQUERADEd connection
		"dport=8080 src=10.77.2.2 dst=10.77.2.1 sport=8080",
		"src=10.77.1.2 dst=10.77.1.1 sport=", // the port forward
	} {
		if !strings.Contains(ct.String(), want) {
			t.Errorf("conntrack lacks %q:\n%s", want, ct.String())
		}
	}
	logText, _ := os.ReadFile(logPath)
	if strings.Count(string(logText), "[gw-new] IN="+cdev+" OUT="+sdev) < 2 {
		t.Errorf("LOG lines of the new connections missing:\n%s", logText)
	}

	// A rule change through the store: ICMP no longer forwarded.
	rs := strings.Replace(rulesFor(cdev, sdev), "-A FORWARD -p icmp -j ACCEPT\n", "", 1)
	os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rs), 0o600)
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, code := c.Run("ping", "-c", "1", "-W", "1", "10.77.2.2"); code == 0 {
		t.Errorf("ping still crosses after the reload dropped it")
	}
	// The metrics endpoint.
	rec := httptest.NewRecorder()
	g.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := rec.Body.String()
	for _, want := range []string{
		`nfgo_rule_packets_total{chain="FORWARD",rule="2",table="filter"} 1` + "\n", // the REJECT rule
		`nfgo_rule_packets_total{chain="PREROUTING",rule="1",table="nat"} 1` + "\n", // the DNAT rule
		`nfgo_drops_total{reason="filter FORWARD"} `,                                // the ping after the reload
		`nfgo_log_lines_total 2` + "\n",
		`nfgo_tun_errors_total 0` + "\n",
		`nfgo_packets_total{result="forwarded"} `,
		`nfgo_conntrack_entries `,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	t.Logf("gateway: received %d, forwarded %d, delivered %d, dropped %d, generated %d; log:\n%s",
		g.Received.Load(), g.Forwarded.Load(), g.Delivered.Load(), g.Dropped.Load(), g.Generated.Load(), logText)
}

// startGateway runs a gateway between a new client and server namespace
// with the rules rulesFor(client device, server device) in its store.
func startGateway(t *testing.T, rulesFor func(cdev, sdev string) string, log logpipe.Sink) (g *Gateway, c, s *netns.NS, dir string) {
	t.Helper()
	return startGatewayQueues(t, rulesFor, log, 0)
}

// startGatewayQueues is startGateway with devices of the given number of
// queues (0: the default).
func startGatewayQueues(t *testing.T, rulesFor func(cdev, sdev string) string, log logpipe.Sink, queues int) (g *Gateway, c, s *netns.NS, dir string) {
	t.Helper()
	requireLive(t, "python3")
	c, s = netns.New(t), netns.New(t)
	devs := liveDevices(c, s, "nfh", 76, 0)
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rulesFor(devs[0].Name, devs[1].Name)), 0o600); err != nil {
		t.Fatal(err)
	}
	g = runGateway(t, Config{StateDir: dir, Log: log, Queues: queues, Devices: devs})
	return g, c, s, dir
}

const sshRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 8080 -m state --state NEW -m recent --set --name SSH --mask 255.255.255.255 --rsource
-A FORWARD -p tcp -m tcp --dport 8080 -m state --state NEW -m recent --update --seconds 60 --hitcount 4 --name SSH --mask 255.255.255.255 --rsource -j DROP
-A FORWARD -p tcp -m tcp --dport 8080 -j LOG --log-prefix "[ssh-in] "
-A FORWARD -p tcp -j ACCEPT
COMMIT
`

// Seed 003's recipe live: the 4th new connection from one source within
// 60 s is dropped (the client's connect times out), the first three get
// through; their LOG lines go to a size-rotated file, none lost.
func TestGatewayRecentAndRotatedLog(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "ssh.log")
	sink, err := logpipe.OpenFile(logPath, logpipe.FileOptions{Stamp: logpipe.StampDmesg, Rotate: &logpipe.Rotate{Size: 300, Keep: 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	_, c, s, _ := startGateway(t, func(string, string) string { return sshRules }, sink)
	server := exec.Command("ip", "netns", "exec", s.Name, "python3", "-c", serverScript, "3")
	out, _ := server.StdoutPipe()
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	out.Read(make([]byte, 10))
	var got []string
	for i := 0; i < 4; i++ {
		o, _, _ := c.Run("python3", "-c", strings.Replace(clientScript, "timeout=5", "timeout=2", 1), "10.76.2.2", "8080")
		got = append(got, strings.TrimSpace(o))
	}
	want := []string{"hello 10.76.1.2", "hello 10.76.1.2", "hello 10.76.1.2", "error timed out"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("connections: %q, want %q", got, want)
	}
	sink.Close()
	// Every LOG line (one per new connection that got past recent: the
	// established packets are accepted before the LOG rule) is in the
	// active file or a rotated one, exactly once.
	files, _ := filepath.Glob(logPath + "*")
	all := ""
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all += string(b)
	}
	if len(files) < 2 {
		t.Errorf("the 300-byte log did not rotate: %v", files)
	}
	if n := strings.Count(all, "[ssh-in] "); n != 3 || strings.Count(all, " SYN ") != 3 {
		t.Errorf("%d LOG lines across %d files, want the 3 accepted SYNs:\n%s", n, len(files), all)
	}
}

// A rule change under load drops no established connection: a TCP
// transfer runs while the ruleset is swapped in twenty times, and every
// byte arrives.
func TestGatewayReloadUnderLoad(t *testing.T) {
	g, c, s, _ := startGateway(t, func(string, string) string { return sshRules }, nil)
	const sink = `
import socket
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9000))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
c.sendall(str(n).encode())
c.close()
print(n, flush=True)
`
	const source = `
import socket, time
s = socket.create_connection(("10.76.2.2", 9000), timeout=10)
buf = b"x" * 65536
end = time.time() + 2
n = 0
while time.time() < end:
    s.sendall(buf)
    n += len(buf)
# Stay until the server has it all (a socket closed with data in flight
# is an orphan the kernel may reset under memory pressure).
s.shutdown(socket.SHUT_WR)
s.settimeout(60)
s.recv(64)
s.close()
print(n)
`
	server := exec.Command("ip", "netns", "exec", s.Name, "python3", "-c", sink)
	var sout, serr strings.Builder
	server.Stderr = &serr
	pr, _ := server.StdoutPipe()
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	pr.Read(make([]byte, 10))
	go func() {
		for i := 0; i < 20; i++ {
			time.Sleep(80 * time.Millisecond)
			if err := g.Reload(); err != nil {
				t.Errorf("reload: %v", err)
			}
		}
	}()
	sent, e, code := c.Run("python3", "-c", source)
	if code != 0 {
		t.Fatalf("sender: %s", e)
	}
	b := make([]byte, 64)
	k, _ := pr.Read(b)
	sout.Write(b[:k])
	server.Wait()
	if strings.TrimSpace(sout.String()) != strings.TrimSpace(sent) || strings.TrimSpace(sent) == "0" {
		t.Fatalf("sent %s bytes, the server got %s %s; the sender: %s", strings.TrimSpace(sent), strings.TrimSpace(sout.String()), serr.String(), e)
	}
	t.Logf("%s bytes across 20 rule swaps", strings.TrimSpace(sent))
}

func bulkRules(cdev, sdev string) string {
	return fmt.Sprintf(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.76.1.1/32 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.76.2.2:9000
-A POSTROUTING -o %[2]s -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i %[1]s -p tcp -m tcp --dport 9000 -m state --state NEW -j ACCEPT
COMMIT
`, cdev, sdev)
}

// A bulk TCP transfer through a DNAT port forward and MASQUERADE, both
// ways (the client sends 8 MiB, the server sends them back), arrives
// intact: the SHA-256 of what each side received is that of what was
// sent. The senders' kernels hand the gateway GSO super-packets, which it
// forwards whole, NAT rewriting their partial checksums: the ESTABLISHED
// rule's counters, as iptables-save -c shows them from the store, have
// packets averaging more than the 1500-byte MTU, which split packets
// could not.
func TestGatewayBulkTransferUnsplit(t *testing.T) {
	g, c, s, dir := startGateway(t, bulkRules, nil)
	if peer := echoTransfer(t, c, s, 7, 8<<20, 20, nil); peer != "10.76.2.1" {
		t.Errorf("the server saw %s, not the gateway's address (MASQUERADE)", peer)
	}
	if err := g.SyncCounters(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := st.Load(xt.FamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var est rules.Counters
	for _, ch := range rs.Table("filter").Chains {
		if ch.Name == "FORWARD" {
			est = ch.Rules[0].Counters
		}
	}
	if est.Bytes < 2*(8<<20) || est.Packets == 0 {
		t.Fatalf("the ESTABLISHED rule counted %d packets, %d bytes: less than the transfer", est.Packets, est.Bytes)
	}
	if avg := est.Bytes / est.Packets; avg <= 1500 {
		t.Errorf("the ESTABLISHED rule counted %d packets for %d bytes (%d on average): split to the MTU, not GSO packets whole", est.Packets, est.Bytes, avg)
	}
	if g.GSO.Load() == 0 {
		t.Error("no GSO super-packet was received")
	}
	t.Logf("ESTABLISHED rule: %d packets, %d bytes; GSO packets %d of %d received", est.Packets, est.Bytes, g.GSO.Load(), g.Received.Load())
}

// Sixteen TCP connections at once through a gateway whose devices have
// four queues each: the kernel spreads the flows over the queues, so
// more than one of the client device's workers handles packets (as the
// per-worker metrics show), and every transfer, both ways through the
// DNAT port forward and MASQUERADE, arrives intact (SHA-256 compared).
func TestGatewayFlowsSpreadOverQueues(t *testing.T) {
	g, c, s, _ := startGatewayQueues(t, bulkRules, nil, 4)
	const flows = 16
	const server = `
import socket, hashlib, threading, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9000))
l.listen(64)
print("listening", flush=True)
out = []
lock = threading.Lock()
def serve(c):
    data = bytearray()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        data += b
    c.sendall(data)
    c.close()
    with lock:
        out.append(hashlib.sha256(data).hexdigest())
ts = []
for _ in range(int(sys.argv[1])):
    c, peer = l.accept()
    t = threading.Thread(target=serve, args=(c,))
    t.start()
    ts.append(t)
for t in ts:
    t.join()
for h in sorted(out):
    print(h, flush=True)
`
	const client = `
import socket, hashlib, random, threading, sys
n = int(sys.argv[1])
res = [None] * n
def flow(i):
    data = random.Random(i).randbytes((1 << 20) + i * 4099)
    s = socket.create_connection(("10.76.1.1", 9090), timeout=30)
    got = bytearray()
    def recv():
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got.extend(b)
    r = threading.Thread(target=recv)
    r.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    r.join()
    res[i] = (hashlib.sha256(data).hexdigest(), hashlib.sha256(bytes(got)).hexdigest())
ts = [threading.Thread(target=flow, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for r in res:
    print(*(r or ("none", "none")))
`
	srv := exec.Command("ip", "netns", "exec", s.Name, "python3", "-c", server, fmt.Sprint(flows))
	rest := startServerCmd(t, srv)
	out, e, code := c.Run("python3", "-c", client, fmt.Sprint(flows))
	if code != 0 {
		t.Fatalf("client: %s", e)
	}
	so := strings.Fields(rest())
	var sent []string
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != f[1] {
			t.Errorf("flow %d: sent SHA-256 %v, got back %v", i, f[:min(1, len(f))], f[min(1, len(f)):])
			continue
		}
		sent = append(sent, f[0])
	}
	slices.Sort(sent)
	if !slices.Equal(sent, so) {
		t.Errorf("the server received (SHA-256)\n%s\nthe clients sent\n%s", strings.Join(so, "\n"), strings.Join(sent, "\n"))
	}
	cdev := g.order[0].cfg.Name
	busy, total := 0, uint64(0)
	per := g.WorkerPackets()
	for q := range 4 {
		n := per[fmt.Sprintf("%s/%d", cdev, q)]
		if n > 0 {
			busy++
		}
		total += n
	}
	for _, d := range g.order {
		if len(d.queues) != 4 {
			t.Errorf("%s has %d queues, want 4", d.cfg.Name, len(d.queues))
		}
	}
	if busy < 2 {
		t.Errorf("the flows were not spread: workers' packets %v", per)
	}
	var sum uint64
	for _, n := range per {
		sum += n
	}
	if sum != g.Received.Load() {
		t.Errorf("the workers read %d packets, the gateway received %d", sum, g.Received.Load())
	}
	rec := httptest.NewRecorder()
	g.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if m := rec.Body.String(); !strings.Contains(m, fmt.Sprintf(`nfgo_gateway_worker_packets_total{worker="%s/3"}`, cdev)) {
		t.Errorf("metrics lack the per-worker counts:\n%s", m)
	}
	t.Logf("packets per worker: %v", per)
}

// UDP GSO (a UDP_SEGMENT socket: one send, many datagrams) crosses the
// gateway MASQUERADEd: the server receives each datagram, intact, from
// the gateway's address.
func TestGatewayUDPSegmentation(t *testing.T) {
	g, c, s, _ := startGateway(t, func(cdev, sdev string) string {
		return strings.Replace(bulkRules(cdev, sdev), "-p tcp -m tcp --dport 9000", "-p udp -m udp --dport 9000", 1)
	}, nil)
	const server = `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 9000))
u.settimeout(5)
print("ready", flush=True)
got = []
try:
    while len(got) < 32:
        b, peer = u.recvfrom(65536)
        got.append((len(b), b == bytes([len(got) % 8 + 65]) * 1000 or b[:1] + b[-1:], peer[0]))
except socket.timeout:
    pass
print(len(got), sorted(set(got)))
`
	const client = `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(17, 103, 1000)  # SOL_UDP, UDP_SEGMENT: 1000-byte datagrams
msg = b"".join(bytes([i + 65]) * 1000 for i in range(8))
for _ in range(4):
    u.sendto(msg, ("10.76.2.2", 9000))
`
	rest := startServer(t, s, server)
	if _, e, code := c.Run("python3", "-c", client); code != 0 {
		t.Fatalf("client: %s", e)
	}
	if got, want := strings.TrimSpace(rest()), "32 [(1000, True, '10.76.2.1')]"; got != want {
		t.Errorf("server got %q, want %q", got, want)
	}
	t.Logf("GSO packets %d of %d received", g.GSO.Load(), g.Received.Load())
}

// txChecksumOff turns off a device's transmit checksum offload (the
// ethtool ioctl, from Python so that it runs in the namespace): the
// kernel then completes each checksum in software before sending.
const txChecksumOff = `
import ctypes, fcntl, socket, struct, sys
ev = ctypes.create_string_buffer(struct.pack("II", 0x17, 0), 8)  # ETHTOOL_STXCSUM, off
ifr = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(ev))
fcntl.ioctl(socket.socket(), 0x8946, ifr)  # SIOCETHTOOL
`

// The partial checksums NAT rewrote are right, as a kernel finishing
// them finds: the server namespace routes the gateway's output on over a
// veth whose checksum offload is off, so its kernel completes each
// partial checksum (and segments the GSO packets) in software, and the
// far host, which gets complete checksums, verifies them and would drop
// any that are wrong. A 4 MiB transfer through DNAT and MASQUERADE,
// both ways, arrives intact.
func TestGatewayPartialChecksumsOnward(t *testing.T) {
	requireLive(t, "python3")
	c, s, far := netns.New(t), netns.New(t), netns.New(t)
	devs := liveDevices(c, s, "nfp", 76, 0)
	cdev, sdev := devs[0].Name, devs[1].Name
	dir := t.TempDir()
	rs := strings.Replace(bulkRules(cdev, sdev), "--to-destination 10.76.2.2:9000", "--to-destination 10.76.3.2:9000", 1)
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rs), 0o600); err != nil {
		t.Fatal(err)
	}
	g := runGateway(t, Config{StateDir: dir, Devices: devs,
		Routes: []host.Route{{Dst: netip.MustParsePrefix("10.76.3.0/24"), Gateway: netip.MustParseAddr("10.76.2.2"), Dev: sdev, Type: "unicast"}}})
	veth := strings.TrimSuffix(cdev, "c") + "v"
	s.MustRun(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "far0", "netns", far.Name)
	s.MustRun(t, "ip", "addr", "add", "10.76.3.1/24", "dev", veth)
	s.MustRun(t, "ip", "link", "set", veth, "up")
	s.MustRun(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	far.MustRun(t, "ip", "addr", "add", "10.76.3.2/24", "dev", "far0")
	far.MustRun(t, "ip", "link", "set", "far0", "up")
	far.MustRun(t, "ip", "route", "add", "default", "via", "10.76.3.1")
	for _, x := range []*netns.NS{c, s, far} {
		x.MustRun(t, "ip", "link", "set", "lo", "up")
	}
	if _, e, code := s.Run("python3", "-c", txChecksumOff, veth); code != 0 {
		t.Fatalf("turning checksum offload off: %s", e)
	}
	diag := func() string {
		csum, _, _ := far.Run("nstat", "-az", "TcpInCsumErrors")
		return "\nthe far host's checksum errors:\n" + csum
	}
	if peer := echoTransfer(t, c, far, 9, 4<<20, 10, diag); peer != "10.76.2.1" {
		t.Errorf("the far server saw %s, not 10.76.2.1 (MASQUERADE)", peer)
	}
	if g.GSO.Load() == 0 {
		t.Error("no GSO super-packet was received")
	}
}

// echoServer accepts one connection on port 9000, echoes what it reads
// once the client has shut down its side, and prints the client's
// address and the SHA-256 of what it got.
const echoServer = `
import socket, hashlib
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9000))
l.listen(1)
print("listening", flush=True)
c, peer = l.accept()
data = bytearray()
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    data += b
c.sendall(data)
c.close()
print(peer[0], hashlib.sha256(data).hexdigest(), flush=True)
`

// echoTransfer sends size seeded random bytes from a client in c through
// the gateway's port forward (10.76.1.1:9090) to echoServer in s, and
// checks that the server got them and the client got them back, both
// whole (SHA-256); it returns the address the server saw the client at.
// diag, if not nil, adds to the report of a failed client.
func echoTransfer(t *testing.T, c, s *netns.NS, seed, size, timeout int, diag func() string) string {
	t.Helper()
	client := fmt.Sprintf(`
import socket, hashlib, random, threading
data = random.Random(%d).randbytes(%d)
s = socket.create_connection(("10.76.1.1", 9090), timeout=%d)
got = bytearray()
def recv():
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        got.extend(b)
r = threading.Thread(target=recv)
r.start()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
r.join()
print(hashlib.sha256(data).hexdigest(), hashlib.sha256(bytes(got)).hexdigest(), len(got))
`, seed, size, timeout)
	rest := startServer(t, s, echoServer)
	out, e, code := c.Run("python3", "-c", client)
	if code != 0 {
		more := ""
		if diag != nil {
			more = diag()
		}
		t.Fatalf("client: %s%s", e, more)
	}
	so := rest()
	cf, sf := strings.Fields(out), strings.Fields(so)
	if len(cf) != 3 || len(sf) != 2 {
		t.Fatalf("client said %q, server %q", out, so)
	}
	if sf[1] != cf[0] {
		t.Errorf("the server received data with SHA-256 %s, the client sent %s", sf[1], cf[0])
	}
	if cf[1] != cf[0] || cf[2] != fmt.Sprint(size) {
		t.Errorf("the client got back %s bytes with SHA-256 %s, want %d with %s", cf[2], cf[1], size, cf[0])
	}
	return sf[0]
}

// startServer runs a Python server in ns and waits for its first line
// (it is listening); rest waits for it to end and returns what else it
// printed, and its errors.
func startServer(t *testing.T, ns *netns.NS, script string) (rest func() string) {
	t.Helper()
	return startServerCmd(t, exec.Command("ip", "netns", "exec", ns.Name, "python3", "-c", script))
}

// startServerCmd is startServer for a command of its own.
func startServerCmd(t *testing.T, srv *exec.Cmd) (rest func() string) {
	t.Helper()
	pr, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var serr strings.Builder
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	r := bufio.NewReader(pr)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("server did not start: %v %s", err, serr.String())
	}
	return func() string {
		b, _ := io.ReadAll(r)
		srv.Wait()
		return string(b) + serr.String()
	}
}
