package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/netns"
)

// mssServer accepts one connection on port 8080 in the server's
// namespace and prints the MSS option of the SYN that reached it, read
// off a raw socket.
const mssServer = `
import socket, struct, select
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("0.0.0.0", 8080)); l.listen(1)
print("ready", flush=True)
mss = None
while mss is None:
    r, _, _ = select.select([raw], [], [], 5)
    if not r: break
    b = raw.recv(2000)
    hl = (b[0] & 15) * 4
    th = b[hl:]
    if struct.unpack("!H", th[2:4])[0] != 8080 or not th[13] & 2: continue
    opts, i = th[20:(th[12] >> 4) * 4], 0
    while i < len(opts):
        if opts[i] == 2: mss = struct.unpack("!H", opts[i+2:i+4])[0]; break
        i += 1 if opts[i] <= 1 else max(opts[i+1], 1)
c, _ = l.accept()
print("mss", mss, flush=True)
`

// TestGatewayClampsMSS: with the classic rule for a link of smaller MTU
// (-t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS
// --clamp-mss-to-pmtu), a real client's SYN reaches the server with its
// MSS lowered to the server side's MTU (1400) less 40, and the
// connection is made.
func TestGatewayClampsMSS(t *testing.T) {
	requireLive(t, "python3")
	c, s := netns.New(t), netns.New(t)
	dir := t.TempDir()
	rules := `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
COMMIT
`
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	runGateway(t, Config{StateDir: dir, Devices: liveDevices(c, s, "nfm", 74, 1400)})
	rest := startServer(t, s, mssServer)
	if o, e, code := c.Run("python3", "-c", `import socket; s = socket.create_connection(("10.74.2.2", 8080), timeout=5); print("connected")`); code != 0 || !strings.Contains(o, "connected") {
		t.Fatalf("connect: %d %s %s", code, o, e)
	}
	if out := rest(); !strings.Contains(out, "mss 1360") {
		t.Errorf("the server saw %q, want the MSS clamped to 1400-40", out)
	}
}
