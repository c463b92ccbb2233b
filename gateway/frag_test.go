package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/netns"
)

// IP fragments and MTU across the gateway: a 3000-byte ping crosses as
// fragments (with conntrack on, the gateway reassembles before the
// rules, as the kernel's defrag does, and cuts the datagram again for the
// way out); a ping larger than the server side's MTU with DF set gets
// the router's "fragmentation needed" naming that MTU, and one without DF
// is fragmented to fit.
func TestGatewayFragments(t *testing.T) {
	requireLive(t)
	c, s := netns.New(t), netns.New(t)
	dir := t.TempDir()
	rules := `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT
COMMIT
`
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	runGateway(t, Config{StateDir: dir, Devices: liveDevices(c, s, "nfg", 78, 1280)})
	if o, e, code := c.Run("ping", "-c", "2", "-W", "3", "-s", "3000", "10.78.2.2"); code != 0 || !strings.Contains(o, "3008 bytes from 10.78.2.2") {
		t.Errorf("a fragmented ping across the gateway: %q %q", o, e)
	}
	if o, _, _ := c.Run("ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1400", "10.78.2.2"); !strings.Contains(o, "Frag needed and DF set (mtu = 1280)") {
		t.Errorf("ping with DF above the out MTU: %q", o)
	}
	if o, e, code := c.Run("ping", "-c", "1", "-W", "3", "-M", "dont", "-s", "1400", "10.78.2.2"); code != 0 || !strings.Contains(o, "1408 bytes from 10.78.2.2") {
		t.Errorf("ping without DF above the out MTU: %q %q", o, e)
	}
}
