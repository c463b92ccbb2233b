package gateway

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/logpipe"
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
-A FORWARD -p icmp -j ACCEPT
COMMIT
`, cdev, sdev)
}

// End to end with real programs: a client namespace and a server
// namespace, each behind one of the gateway's TUN devices. Ping crosses
// the gateway and the gateway answers its own ping; TCP crosses it
// MASQUERADEd (the server sees the gateway's address); a DNAT port
// forward reaches the server; REJECT reaches the client as "connection
// refused"; the LOG rule's lines reach the log file; the connections
// show in the gateway's table; and a rule change from the store (Reload)
// takes effect on the next packet.
func TestGatewayEndToEnd(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("the gateway test needs root and network namespaces: " + why)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	c, s := netns.New(t), netns.New(t)
	n := rand.Intn(9000) + 1000
	cdev, sdev := fmt.Sprintf("nfg%dc", n), fmt.Sprintf("nfg%ds", n)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rulesFor(cdev, sdev)), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "packets.log")
	sink, err := logpipe.OpenFile(logPath, logpipe.FileOptions{Stamp: logpipe.StampDmesg})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	g, err := New(Config{StateDir: dir, Log: sink, Devices: []DeviceConfig{
		{Name: cdev, Addr: netip.MustParsePrefix("10.77.1.1/24"), Netns: c.Name, PeerAddr: netip.MustParsePrefix("10.77.1.2/24"), PeerDefault: true},
		{Name: sdev, Addr: netip.MustParsePrefix("10.77.2.1/24"), Netns: s.Name, PeerAddr: netip.MustParsePrefix("10.77.2.2/24"), PeerDefault: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	for _, x := range []*netns.NS{c, s} {
		x.MustRun(t, "ip", "link", "set", "lo", "up")
	}

	if _, e, code := c.Run("ping", "-c", "1", "-W", "3", "10.77.2.2"); code != 0 {
		t.Fatalf("ping across the gateway failed: %s", e)
	}
	if _, e, code := c.Run("ping", "-c", "1", "-W", "3", "10.77.1.1"); code != 0 {
		t.Fatalf("the gateway did not answer its own ping: %s", e)
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
	t.Logf("gateway: received %d, forwarded %d, delivered %d, dropped %d, generated %d; log:\n%s",
		g.Received.Load(), g.Forwarded.Load(), g.Delivered.Load(), g.Dropped.Load(), g.Generated.Load(), logText)
}
