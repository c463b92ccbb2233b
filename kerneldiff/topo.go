// Package kerneldiff runs packets through the kernel's netfilter and through
// nfgo and compares what each did: a client — router — server topology of
// network namespaces joined by veth pairs, one ruleset loaded into the
// router's kernel (iptables-legacy-restore, so TRACE reaches dmesg) and
// into nfgo, the same packets sent, and the TRACE lines, LOG lines and
// iptables-save -c counters compared. The router's traffic is captured with
// tcpdump and fed to nfgo from the capture, so both see the very same bytes.
//
// The tests need root, network namespaces, iptables-legacy and tcpdump;
// elsewhere they skip with a message.
package kerneldiff

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/nfgo/nfgo/internal/netns"
)

// Topo is the client — router — server topology. Addresses are drawn from
// 10.N.1.0/24 (client side) and 10.N.2.0/24 (server side) with N chosen at
// random, so kernel log lines of concurrent runs can be told apart.
type Topo struct {
	C, R, S *netns.NS
	N       int
	// Addresses.
	ClientIP, RouterIn, RouterOut, ServerIP net.IP
	// MACs: client's c0, router's r0 (client side) and r1 (server side),
	// server's s0.
	MACc0, MACr0, MACr1, MACs0 string
	// AnyCapture is the router's `tcpdump -i any` capture of the last
	// RunKernel, which RunNfgo replays.
	AnyCapture string
	// RouterSent are the packets SendFromRouter crafted, as the router's
	// socket sent them.
	RouterSent [][]byte
}

func ip4(a, b, c, d int) net.IP { return net.IPv4(byte(a), byte(b), byte(c), byte(d)).To4() }

// Available says whether the kernel comparison can run here.
func Available() (bool, string) {
	if ok, why := netns.Available(); !ok {
		return false, why
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		return false, "tcpdump not found"
	}
	return true, ""
}

// NewTopo builds the three namespaces and their links.
func NewTopo(t *testing.T) *Topo {
	t.Helper()
	if ok, why := Available(); !ok {
		t.Skip("kernel comparison needs root, network namespaces, iptables-legacy and tcpdump: " + why)
	}
	if out, err := exec.Command("sysctl", "-w", "net.netfilter.nf_log_all_netns=1").CombinedOutput(); err != nil {
		t.Skipf("cannot enable netfilter logging in namespaces: %v %s", err, out)
	}
	n := 100 + rand.Intn(150)
	tp := &Topo{
		C: netns.New(t), R: netns.New(t), S: netns.New(t), N: n,
		ClientIP: ip4(10, n, 1, 2), RouterIn: ip4(10, n, 1, 1), RouterOut: ip4(10, n, 2, 1), ServerIP: ip4(10, n, 2, 2),
		MACc0: "02:00:00:00:0c:00", MACr0: "02:00:00:00:0a:00", MACr1: "02:00:00:00:0a:01", MACs0: "02:00:00:00:0b:00",
	}
	link := func(a *netns.NS, an, amac string, b *netns.NS, bn, bmac string) {
		if out, err := exec.Command("ip", "link", "add", an, "netns", a.Name, "address", amac, "type", "veth",
			"peer", "name", bn, "netns", b.Name, "address", bmac).CombinedOutput(); err != nil {
			t.Fatalf("veth %s-%s: %v %s", an, bn, err, out)
		}
	}
	link(tp.C, "c0", tp.MACc0, tp.R, "r0", tp.MACr0)
	link(tp.R, "r1", tp.MACr1, tp.S, "s0", tp.MACs0)
	for _, x := range []struct {
		ns   *netns.NS
		dev  string
		addr string
	}{
		{tp.C, "c0", fmt.Sprintf("10.%d.1.2/24", n)},
		{tp.R, "r0", fmt.Sprintf("10.%d.1.1/24", n)},
		{tp.R, "r1", fmt.Sprintf("10.%d.2.1/24", n)},
		{tp.S, "s0", fmt.Sprintf("10.%d.2.2/24", n)},
	} {
		x.ns.MustRun(t, "ip", "addr", "add", x.addr, "dev", x.dev)
		x.ns.MustRun(t, "ip", "link", "set", x.dev, "up")
		x.ns.MustRun(t, "ip", "link", "set", "lo", "up")
	}
	tp.C.MustRun(t, "ip", "route", "add", "default", "via", tp.RouterIn.String())
	tp.S.MustRun(t, "ip", "route", "add", "default", "via", tp.RouterOut.String())
	tp.R.MustRun(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	// Static neighbours: no ARP traffic or resolution delays in captures.
	tp.C.MustRun(t, "ip", "neigh", "replace", tp.RouterIn.String(), "lladdr", tp.MACr0, "dev", "c0")
	tp.R.MustRun(t, "ip", "neigh", "replace", tp.ClientIP.String(), "lladdr", tp.MACc0, "dev", "r0")
	tp.R.MustRun(t, "ip", "neigh", "replace", tp.ServerIP.String(), "lladdr", tp.MACs0, "dev", "r1")
	tp.S.MustRun(t, "ip", "neigh", "replace", tp.RouterOut.String(), "lladdr", tp.MACr1, "dev", "s0")
	return tp
}

// Sending crafted packets: the test binary re-executes itself inside a
// namespace with NFGO_KERNELDIFF_SEND set, reads hex packets from stdin and
// writes each through a raw IPv4 socket (the kernel fills in the header
// checksum, and an ID where it is zero).

const sendEnv = "NFGO_KERNELDIFF_SEND"

// MaybeSend is called from TestMain: in the re-executed child it sends and
// exits.
func MaybeSend() {
	if os.Getenv(sendEnv) == "" {
		return
	}
	data, _ := readAll(os.Stdin)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raw socket:", err)
		os.Exit(1)
	}
	for _, line := range strings.Fields(string(data)) {
		pkt := make([]byte, len(line)/2)
		if _, err := fmt.Sscanf(line, "%x", &pkt); err != nil {
			fmt.Fprintln(os.Stderr, "bad packet hex:", err)
			os.Exit(1)
		}
		if len(pkt) < 20 {
			continue
		}
		var dst [4]byte
		binary.BigEndian.PutUint32(dst[:], binary.BigEndian.Uint32(pkt[16:20]))
		if err := syscall.Sendto(fd, pkt, 0, &syscall.SockaddrInet4{Addr: dst}); err != nil {
			fmt.Fprintln(os.Stderr, "sendto:", err)
		}
	}
	os.Exit(0)
}

func readAll(f *os.File) ([]byte, error) {
	var out []byte
	buf := make([]byte, 64*1024)
	for {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, nil
		}
	}
}

// SendFromRouter sends crafted packets from the router's own raw socket,
// each with its own IP ID, and remembers them: a capture shows them after
// the router's NAT, and the replay needs them as sent.
func SendFromRouter(t *testing.T, tp *Topo, pkts ...[]byte) {
	t.Helper()
	for _, p := range pkts {
		q := append([]byte(nil), p...)
		id := 0x4e00 + len(tp.RouterSent)
		q[4], q[5] = byte(id>>8), byte(id)
		q[10], q[11] = 0, 0
		binary.BigEndian.PutUint16(q[10:], ipChecksum(q[:int(q[0]&0x0F)*4]))
		tp.RouterSent = append(tp.RouterSent, q)
		Send(t, tp.R, q)
	}
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}

// Send writes crafted IPv4 packets from inside ns.
func Send(t *testing.T, ns *netns.NS, pkts ...[]byte) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range pkts {
		fmt.Fprintf(&b, "%x\n", p)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.Name, exe)
	cmd.Env = append(os.Environ(), sendEnv+"=1")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sending from %s: %v %s", ns.Name, err, out)
	}
}
