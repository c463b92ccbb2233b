package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/rules"
)

// closedProbe runs in a client namespace against the host 10.75.1.1,
// which listens on no port: a TCP connect (TOS 0x2b), a connected UDP
// datagram, and raw GRE and protocol 253 datagrams, then what came back,
// read off raw sockets: the RST and the ICMP errors, their fields as JSON (the random parts left out: the
// client's port, its ISN, which the RST acknowledges, and the IP ID of
// the ICMP error, a hashed counter; each checksum is checked instead).
const closedProbe = `
import socket, json, struct, select, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
rt = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
ri = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
out = {}
t = socket.socket(); t.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x2b); t.settimeout(3)
try:
    t.connect(("10.75.1.1", 9)); out["tcp"] = "connected"
except Exception as e:
    out["tcp"] = type(e).__name__
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
u.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x2b)
u.connect(("10.75.1.1", 9)); u.send(b"hello")
try:
    u.recv(100); out["udp"] = "answered"
except Exception as e:
    out["udp"] = type(e).__name__
def ip(b):
    return {"tos": b[1], "len": struct.unpack("!H", b[2:4])[0], "frag": struct.unpack("!H", b[6:8])[0],
            "ttl": b[8], "proto": b[9], "src": socket.inet_ntoa(b[12:16]), "dst": socket.inet_ntoa(b[16:20]),
            "ipcsum": csum(b[:20]) == 0xffff}
for proto in (47, 253):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    r.sendto(b"\0" * 16, ("10.75.1.1", 0))
deadline = time.time() + 3
while time.time() < deadline and not all(k in out for k in ("rst", "icmp", "proto47", "proto253")):
    r, _, _ = select.select([rt, ri], [], [], 0.2)
    for s in r:
        b = s.recv(2000)
        if s is rt and b[33] & 4 and struct.unpack("!H", b[20:22])[0] == 9:
            th = b[20:]
            d = ip(b)
            d.update({"sport": 9, "flags": th[13], "seq": struct.unpack("!I", th[4:8])[0], "doff": th[12] >> 4,
                      "win": struct.unpack("!H", th[14:16])[0], "urg": struct.unpack("!H", th[18:20])[0],
                      "tcpcsum": csum(b[12:20] + struct.pack("!BBH", 0, 6, len(th)) + th) == 0xffff})
            out["rst"] = d
        if s is ri and b[20] == 3 and b[21] == 3:
            d = ip(b)
            q = b[28:]
            d.update({"type": b[20], "code": b[21], "icmpcsum": csum(b[20:]) == 0xffff,
                      "quoted": len(q), "qtos": q[1], "qdst": socket.inet_ntoa(q[16:20]),
                      "qdport": struct.unpack("!H", q[22:24])[0], "qpayload": q[28:].decode()})
            out["icmp"] = d
        if s is ri and b[20] == 3 and b[21] == 2:
            d = ip(b)
            q = b[28:]
            d.update({"type": b[20], "code": b[21], "icmpcsum": csum(b[20:]) == 0xffff,
                      "quoted": len(q), "qproto": q[9], "qdst": socket.inet_ntoa(q[16:20]), "qpayload": q[20:].hex()})
            out["proto%d" % q[9]] = d
print(json.dumps(out, sort_keys=True))
`

// closedRules count what the host sends (the RST, the ICMP error and its
// conntrack state) and what it took in.
const closedRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m conntrack --ctstate NEW
-A INPUT -p udp -m conntrack --ctstate NEW
-A OUTPUT -p tcp -m tcp --tcp-flags RST RST
-A OUTPUT -p icmp -m conntrack --ctstate RELATED -m icmp --icmp-type 3/3
-A OUTPUT -p icmp -m conntrack --ctstate RELATED -m icmp --icmp-type 3/2
COMMIT
`

// TestClosedPortsLikeKernel: the gateway's own address listens on no
// port, as a host with no sockets open. A TCP connect to it is refused
// with the RST the kernel's TCP stack sends (tcp_v4_send_reset: the
// segment's TOS without its ECN bits, ID 0, DF), a UDP datagram gets an
// ICMP port unreachable (icmp_send), and GRE or an unassigned protocol a
// protocol unreachable; all cross OUTPUT, the RST's connection dies with
// it. The same client program runs against a kernel
// host in a namespace with the same addresses and rules: what the
// client sees, the rule counters and the connection table must be the
// same.
func TestClosedPortsLikeKernel(t *testing.T) {
	requireLive(t, "python3", "iptables-legacy-restore", "conntrack")
	probe := func(c *netns.NS) map[string]any {
		t.Helper()
		o, e, code := c.Run("python3", "-c", closedProbe)
		var m map[string]any
		if code != 0 || json.Unmarshal([]byte(o), &m) != nil {
			t.Fatalf("probe: %d %s %s", code, o, e)
		}
		return m
	}

	// The kernel: a client and a host joined by a veth pair.
	kc, kh := netns.New(t), netns.New(t)
	n := rand.Intn(9000) + 1000
	a, b := fmt.Sprintf("nfk%da", n), fmt.Sprintf("nfk%db", n)
	if _, e, code := kc.Run("ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", kh.Name); code != 0 {
		t.Fatalf("veth: %s", e)
	}
	kc.MustRun(t, "ip", "addr", "add", "10.75.1.2/24", "dev", a)
	kh.MustRun(t, "ip", "addr", "add", "10.75.1.1/24", "dev", b)
	for _, x := range []struct {
		ns  *netns.NS
		dev string
	}{{kc, a}, {kh, b}} {
		x.ns.MustRun(t, "ip", "link", "set", x.dev, "up")
		x.ns.MustRun(t, "ip", "link", "set", "lo", "up")
	}
	if _, e, code := kh.RunInput(strings.NewReader(closedRules), "iptables-legacy-restore"); code != 0 {
		t.Fatalf("kernel rules: %s", e)
	}
	kernel := probe(kc)
	ksave := kh.MustRun(t, "iptables-legacy-save", "-c", "-t", "filter")
	kct, _, _ := kh.Run("conntrack", "-L")

	// nfgo: the gateway's address on a TUN in the client's namespace.
	c, s := netns.New(t), netns.New(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), []byte(closedRules), 0o600); err != nil {
		t.Fatal(err)
	}
	g := runGateway(t, Config{StateDir: dir, Devices: liveDevices(c, s, "nfk", 75, 0)})
	c.MustRun(t, "ip", "link", "set", "lo", "up")
	nfgo := probe(c)

	kj, _ := json.Marshal(kernel)
	nj, _ := json.Marshal(nfgo)
	if !bytes.Equal(kj, nj) {
		t.Errorf("what the client saw:\nkernel %s\nnfgo   %s", kj, nj)
	}
	if kernel["tcp"] != "ConnectionRefusedError" || kernel["udp"] != "ConnectionRefusedError" {
		t.Errorf("the kernel host did not refuse: %s", kj)
	}
	if _, ok := kernel["rst"]; !ok {
		t.Errorf("no RST seen from the kernel: %s", kj)
	}
	if _, ok := kernel["icmp"]; !ok {
		t.Errorf("no ICMP error seen from the kernel: %s", kj)
	}

	// Counters: the lines of both saves with counters.
	snap := g.Stack.Engine.Snapshot()
	live := snap.Ruleset.Clone()
	snap.Counters(live)
	var nsave bytes.Buffer
	rules.WriteSave(&nsave, live, "filter", true)
	counted := regexp.MustCompile(`(?m)^\[\d+:\d+\] -A .*$`)
	if k, nf := counted.FindAllString(ksave, -1), counted.FindAllString(nsave.String(), -1); strings.Join(k, "\n") != strings.Join(nf, "\n") {
		t.Errorf("rule counters:\nkernel\n%s\nnfgo\n%s", strings.Join(k, "\n"), strings.Join(nf, "\n"))
	}

	// The connection table: the RST ended the TCP connection; the UDP,
	// GRE and protocol 253 ones are left unreplied (the ICMP errors are
	// related, not replies).
	var nct []string
	now := time.Now().UnixNano()
	g.Stack.CT.Each(now, func(cn *conntrack.Conn) { nct = append(nct, string(cn.AppendList(nil, now))) })
	shape := func(lines []string) string {
		var out []string
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) == 0 || strings.HasPrefix(l, "conntrack v") {
				continue
			}
			out = append(out, f[0]+" unreplied="+fmt.Sprint(strings.Contains(l, "[UNREPLIED]")))
		}
		sort.Strings(out) // the kernel lists in its hash order
		return strings.Join(out, ",")
	}
	want := "gre unreplied=true,udp unreplied=true,unknown unreplied=true"
	if k, nf := shape(strings.Split(strings.TrimSpace(kct), "\n")), shape(nct); k != nf || k != want {
		t.Errorf("connections: kernel %q, nfgo %q (want %q)", k, nf, want)
	}
}
