package gateway

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"github.com/nfgo/nfgo/internal/netns"
)

// requireLive skips a test that needs what a live gateway needs (root,
// network namespaces, /dev/net/tun) and the given programs.
func requireLive(t *testing.T, programs ...string) {
	t.Helper()
	if ok, why := netns.Available(); !ok {
		t.Skip("the gateway test needs root and network namespaces: " + why)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skip(p + " not found")
		}
	}
}

// liveDevices is the usual pair of TUN devices: a client side in c
// (10.NET.1.1, the client 10.NET.1.2) and a server side in s (10.NET.2.1,
// the server 10.NET.2.2, with serverMTU when non-zero), each peer routing
// through the gateway. Device names start with prefix and a random number.
func liveDevices(c, s *netns.NS, prefix string, net, serverMTU int) []DeviceConfig {
	n := rand.Intn(9000) + 1000
	pfx := func(side, host int) netip.Prefix {
		return netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.%d/24", net, side, host))
	}
	return []DeviceConfig{
		{Name: fmt.Sprintf("%s%dc", prefix, n), Addr: pfx(1, 1), Netns: c.Name, PeerAddr: pfx(1, 2), PeerDefault: true},
		{Name: fmt.Sprintf("%s%ds", prefix, n), Addr: pfx(2, 1), Netns: s.Name, PeerAddr: pfx(2, 2), PeerDefault: true, MTU: serverMTU},
	}
}

// runGateway makes the gateway of cfg and runs it until the test ends.
func runGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return g
}
