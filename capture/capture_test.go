package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/host"
	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/packet"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
)

func testHost() *host.Host {
	return host.New([]*host.Interface{
		{Index: 1, Name: "lo", LinkType: "loopback"},
		{Index: 7, Name: "eth0", MAC: macA, LinkType: "ether"},
	}, nil, true)
}

func ipPkt(src, dst uint32) []byte {
	return packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoUDP, SrcPort: 1, DstPort: 2, PayloadLen: 3})
}

func sll2(proto uint16, ifindex uint32, pkttype uint8, hatype uint16, addr net.HardwareAddr, payload []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], proto)
	binary.BigEndian.PutUint32(h[4:], ifindex)
	binary.BigEndian.PutUint16(h[8:], hatype)
	h[10], h[11] = pkttype, byte(len(addr))
	copy(h[12:], addr)
	return append(h, payload...)
}

func sll1(proto uint16, pkttype uint16, hatype uint16, addr net.HardwareAddr, payload []byte) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], pkttype)
	binary.BigEndian.PutUint16(h[2:], hatype)
	binary.BigEndian.PutUint16(h[4:], uint16(len(addr)))
	copy(h[6:], addr)
	binary.BigEndian.PutUint16(h[14:], proto)
	return append(h, payload...)
}

func writePcap(t *testing.T, lt layers.LinkType, frames ...[]byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "c.pcap")
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	w.WriteFileHeader(65535, lt)
	for i, fr := range frames {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)*1000), CaptureLength: len(fr), Length: len(fr)}, fr)
	}
	os.WriteFile(f, b.Bytes(), 0o644)
	return f
}

// SLL2 frames, checked against gopacket's own decoding (the oracle for
// the header layout): the interface from the index, the direction from
// the packet type, the Ethernet header rebuilt; ARP and IPv6 skipped.
func TestSLL2(t *testing.T) {
	ip := ipPkt(0x0a000001, 0x0a000002)
	frames := [][]byte{
		sll2(0x0800, 7, pktHost, 1, macB, ip),
		sll2(0x0800, 7, pktOutgoing, 1, macA, ip),
		sll2(0x0800, 7, pktBroadcast, 1, macB, ip),
		sll2(0x0800, 1, pktHost, 772, net.HardwareAddr{0, 0, 0, 0, 0, 0}, ip),
		sll2(0x0806, 7, pktHost, 1, macB, make([]byte, 28)),
		sll2(0x86dd, 7, pktHost, 1, macB, make([]byte, 40)),
	}
	for _, fr := range frames[:4] {
		gp := gopacket.NewPacket(fr, layers.LinkTypeLinuxSLL2, gopacket.Default)
		l, ok := gp.LinkLayer().(*layers.LinuxSLL2)
		if !ok || l.ProtocolType != layers.EthernetTypeIPv4 {
			t.Fatalf("gopacket does not see an IPv4 SLL2 frame: %v", gp)
		}
	}
	var st Stats
	ps, err := Read(Source{Path: writePcap(t, layers.LinkTypeLinuxSLL2, frames...)}, HostInterfaces(testHost()), &st)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 4 || st.NotIPv4 != 2 {
		t.Fatalf("%d packets, stats %+v", len(ps), st)
	}
	want := []struct {
		iface string
		dir   Direction
		mac   string
	}{
		{"eth0", DirIn, "02000000000a" + "02000000000b" + "0800"},
		{"eth0", DirOut, "000000000000" + "02000000000a" + "0800"},
		{"eth0", DirIn, "ffffffffffff" + "02000000000b" + "0800"},
		{"lo", DirIn, "000000000000000000000000" + "0800"},
	}
	for i, w := range want {
		p := ps[i]
		if p.Iface != w.iface || p.Dir != w.dir || hexs(p.MAC) != w.mac || !bytes.Equal(p.IP, ip) {
			t.Errorf("packet %d: %s %s %s", i, p.Iface, p.Dir, hexs(p.MAC))
		}
		gp := gopacket.NewPacket(frames[i], layers.LinkTypeLinuxSLL2, gopacket.Default)
		l := gp.LinkLayer().(*layers.LinuxSLL2)
		if int(l.InterfaceIndex) != p.IfIndex {
			t.Errorf("packet %d: ifindex %d, gopacket %d", i, p.IfIndex, l.InterfaceIndex)
		}
	}
	if ps[1].Time-ps[0].Time != 1000 {
		t.Errorf("nanosecond times not kept: %d", ps[1].Time-ps[0].Time)
	}
}

// SLL v1 has no interface: the IFACE= of the source names it.
func TestSLL1AndRaw(t *testing.T) {
	ip := ipPkt(0x0a000001, 0xe0000001) // to 224.0.0.1
	f := writePcap(t, layers.LinkTypeLinuxSLL, sll1(0x0800, pktMulticast, 1, macB, ip), sll1(0x0800, pktOutgoing, 1, macA, ip))
	ps, err := Read(ParseSource("eth0="+f), HostInterfaces(testHost()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Iface != "eth0" || ps[0].Dir != DirIn || hexs(ps[0].MAC) != "01005e000001"+"02000000000b"+"0800" || ps[1].Dir != DirOut {
		t.Fatalf("%+v", ps)
	}
	raw := writePcap(t, layers.LinkTypeRaw, ip, []byte{0x60, 0, 0, 0})
	ps, err = Read(ParseSource("eth0="+raw), nil, nil)
	if err != nil || len(ps) != 1 || ps[0].MAC != nil || ps[0].Iface != "eth0" || ps[0].Dir != DirUnknown {
		t.Fatalf("raw: %v %+v", err, ps)
	}
	eth := append(append(append([]byte{}, macA...), macB...), 0x08, 0x00)
	ef := writePcap(t, layers.LinkTypeEthernet, append(append([]byte{}, eth...), ip...))
	ps, err = Read(Source{Path: ef}, nil, nil)
	if err != nil || len(ps) != 1 || !bytes.Equal(ps[0].MAC, eth) || ps[0].Iface != "" {
		t.Fatalf("ethernet: %v %+v", err, ps)
	}
}

// pcapng: interface names from the interface blocks, direction from the
// packets' flags, several link types in one file.
func TestPcapng(t *testing.T) {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "wan0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	ip := ipPkt(0x0a000001, 0x0a000002)
	eth := append(append(append([]byte{}, macA...), macB...), 0x08, 0x00)
	fr := append(eth, ip...)
	w.WritePacketWithOptions(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(fr), Length: len(fr), InterfaceIndex: 0}, fr,
		pcapgo.NgPacketOptions{Flags: &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionOutbound}})
	w.WritePacketWithOptions(gopacket.CaptureInfo{Timestamp: time.Unix(2, 0), CaptureLength: len(ip), Length: len(ip) + 10, InterfaceIndex: id2}, ip,
		pcapgo.NgPacketOptions{Flags: &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionInbound}})
	w.Flush()
	ps, err := ReadFrom(&b, Source{Path: "x.pcapng"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Iface != "wan0" || ps[0].Dir != DirOut || ps[1].Iface != "tun0" || ps[1].Dir != DirIn || !ps[1].Truncated || ps[1].MAC != nil {
		t.Fatalf("%+v", ps)
	}
}

// Captures merge in time order; equal times keep the sources' order.
func TestReadAllMerges(t *testing.T) {
	ip := ipPkt(1, 2)
	a := writePcap(t, layers.LinkTypeRaw, ip, ip, ip) // t = 0, 1, 2 µs
	b := writePcap(t, layers.LinkTypeRaw, ip, ip)     // t = 0, 1 µs
	ps, err := ReadAll([]Source{ParseSource("a0=" + a), ParseSource("b0=" + b)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Iface)
	}
	if strings.Join(got, " ") != "a0 b0 a0 b0 a0" {
		t.Fatalf("order %v", got)
	}
	if _, err := Read(Source{Path: writeFile(t, "not a capture at all")}, nil, nil); err == nil {
		t.Fatal("garbage accepted")
	}
}

func writeFile(t *testing.T, s string) string {
	f := filepath.Join(t.TempDir(), "x")
	os.WriteFile(f, []byte(s), 0o644)
	return f
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	var s []byte
	for _, c := range b {
		s = append(s, d[c>>4], d[c&15])
	}
	return string(s)
}

// A real `tcpdump -i any` capture (SLL2) in a namespace: a ping across a
// veth pair and to the loopback address, each packet mapped to its
// interface through `ip -j addr show` and given its direction.
func TestTcpdumpAny(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("needs root and network namespaces: " + why)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not found")
	}
	a, b := netns.New(t), netns.New(t)
	if out, err := exec.Command("ip", "link", "add", "va", "netns", a.Name, "address", macA.String(), "type", "veth",
		"peer", "name", "vb", "netns", b.Name, "address", macB.String()).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	a.MustRun(t, "ip", "addr", "add", "10.77.0.1/24", "dev", "va")
	b.MustRun(t, "ip", "addr", "add", "10.77.0.2/24", "dev", "vb")
	for _, x := range []*netns.NS{a, b} {
		x.MustRun(t, "ip", "link", "set", "lo", "up")
	}
	a.MustRun(t, "ip", "link", "set", "va", "up")
	b.MustRun(t, "ip", "link", "set", "vb", "up")
	f := filepath.Join(t.TempDir(), "any.pcap")
	cmd := exec.Command("ip", "netns", "exec", a.Name, "tcpdump", "-i", "any", "-U", "-w", f, "icmp")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Send only once tcpdump says it listens (under load it starts late).
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start")
	}
	time.Sleep(200 * time.Millisecond)
	a.MustRun(t, "ping", "-c", "1", "-W", "2", "10.77.0.2")
	a.MustRun(t, "ping", "-c", "1", "-W", "2", "127.0.0.1")
	// Until the file holds the four packets (or 5 s).
	for i := 0; i < 50; i++ {
		if fi, err := os.Stat(f); err == nil && fi.Size() >= 24+4*(16+20+84) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	h, err := host.Load([]byte(a.MustRun(t, "ip", "-j", "addr", "show")), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Read(Source{Path: f}, HostInterfaces(h), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Iface+"/"+p.Dir.String()+"/"+hexs(p.MAC))
	}
	want := []string{
		"va/out/000000000000" + hexs(macA) + "0800",
		"va/in/" + hexs(macA) + hexs(macB) + "0800",
		// libpcap keeps a loopback packet once, as received (it drops
		// lo's outgoing copy, which would double every packet).
		"lo/in/0000000000000000000000000800",
		"lo/in/0000000000000000000000000800",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("tcpdump -i any read as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzRead: any file given as a capture is read or refused, never a
// panic.
func FuzzRead(f *testing.F) {
	ip := ipPkt(1, 2)
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw} {
		var b bytes.Buffer
		w := pcapgo.NewWriter(&b)
		w.WriteFileHeader(65535, lt)
		fr := ip
		switch lt {
		case layers.LinkTypeLinuxSLL2:
			fr = sll2(0x0800, 7, 0, 1, macB, ip)
		case layers.LinkTypeLinuxSLL:
			fr = sll1(0x0800, 0, 1, macB, ip)
		case layers.LinkTypeEthernet:
			fr = append(append(append([]byte{}, macA...), macB...), append([]byte{8, 0}, ip...)...)
		}
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(fr), Length: len(fr)}, fr)
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadFrom(bytes.NewReader(data), Source{Path: "fuzz", Iface: "eth0"}, HostInterfaces(testHost()), nil)
	})
}
