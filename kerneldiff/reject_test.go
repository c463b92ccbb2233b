package kerneldiff

import (
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nfgo/nfgo/packet"
)

// REJECT in the router's INPUT and FORWARD chains with every --reject-with
// type, the replies logged in OUTPUT. Compared: counters, LOG lines (the
// ICMP errors' outer IP ID masked) and the generated packets byte for
// byte (the ICMP errors' IP ID and IP header checksum masked: see
// MaskReply).
//
// Each packet comes from its own client-side address (10.NET.1.10 and up,
// given static neighbour entries on the router so the replies leave at
// once), so that the per-destination ICMP rate limit (6 at once, then one
// a second) only shows where it is tested: 9 packets from 10.NET.1.50, of
// which the kernel answers 6, and 1.1 s later 2 more, of which it answers
// 1.
var rejectScenario = &Scenario{
	Name:    "reject",
	Replies: true,
	Rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 1001 -j REJECT --reject-with icmp-net-unreachable
-A INPUT -p udp -m udp --dport 1002 -j REJECT --reject-with icmp-host-unreachable
-A INPUT -p udp -m udp --dport 1003 -j REJECT --reject-with icmp-proto-unreachable
-A INPUT -p udp -m udp --dport 1004 -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -m tcp --dport 1005 -j REJECT --reject-with icmp-net-prohibited
-A INPUT -p tcp -m tcp --dport 1006 -j REJECT --reject-with icmp-host-prohibited
-A INPUT -p tcp -m tcp --dport 1007 -j REJECT --reject-with icmp-admin-prohibited
-A INPUT -p tcp -m tcp --dport 1008 -j REJECT --reject-with tcp-reset
-A INPUT -p icmp -j REJECT
-A INPUT -p 253 -j REJECT --reject-with icmp-proto-unreachable
-A INPUT -j DROP
-A FORWARD -f -j REJECT --reject-with icmp-host-unreachable
-A FORWARD -p udp -m udp --dport 2001 -j REJECT --reject-with icmp-net-unreachable
-A FORWARD -p udp -m udp --dport 2002 -j REJECT --reject-with icmp-host-unreachable
-A FORWARD -p udp -m udp --dport 2003 -j REJECT --reject-with icmp-proto-unreachable
-A FORWARD -p udp -m udp --dport 2004 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p tcp -m tcp --dport 2005 -j REJECT --reject-with icmp-net-prohibited
-A FORWARD -p tcp -m tcp --dport 2006 -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -p tcp -m tcp --dport 2007 -j REJECT --reject-with icmp-admin-prohibited
-A FORWARD -p tcp -m tcp --dport 2008 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp -m udp --dport 2009 -j REJECT
-A FORWARD -p icmp -j REJECT --reject-with icmp-admin-prohibited
-A FORWARD -j DROP
-A OUTPUT -p icmp -j LOG --log-prefix "rej-icmp: "
-A OUTPUT -p tcp -j LOG --log-prefix "rej-tcp: " --log-tcp-sequence --log-tcp-options
COMMIT
`,
	Traffic: rejectTraffic,
}

// clientAddr is a client-side source address (10.NET.1.10+i).
func clientAddr(tp *Topo, i int) []byte { return ip4(10, tp.N, 1, 10+i) }

func rejectTraffic(t *testing.T, tp *Topo) {
	r, r2, s := tp.RouterIn, tp.RouterOut, tp.ServerIP
	c := func(i int) uint32 { return addr(clientAddr(tp, i)) }
	u := func(i int, dst []byte, dport uint16, n int) *packet.Spec {
		return &packet.Spec{Src: c(i), Dst: addr(dst), Proto: packet.ProtoUDP, SrcPort: uint16(30000 + i), DstPort: dport, PayloadLen: n, ID: uint16(100 + i)}
	}
	tc := func(i int, dst []byte, dport uint16, flags uint8, n int) *packet.Spec {
		return &packet.Spec{Src: c(i), Dst: addr(dst), Proto: packet.ProtoTCP, SrcPort: uint16(40000 + i), DstPort: dport,
			TCPFlags: flags, Seq: 1000000 + uint32(i), Ack: 5000 + uint32(i), DF: true, PayloadLen: n, ID: uint16(100 + i)}
	}
	B := packet.Build
	withOpts := func(sp *packet.Spec, o []byte) *packet.Spec { sp.TCPOptions = o; return sp }
	tos := func(sp *packet.Spec, v uint8) *packet.Spec { sp.TOS = v; return sp }
	corrupt := func(b []byte, off int) []byte { b[20+off] ^= 0x5A; return b }
	zeroSum := func(b []byte) []byte { b[26], b[27] = 0, 0; return b }
	raw := func(i int, dst []byte, proto uint8, payload []byte) []byte {
		b := B(&packet.Spec{Src: c(i), Dst: addr(dst), Proto: proto, PayloadLen: len(payload), ID: uint16(100 + i)})
		copy(b[20:], payload)
		return b
	}
	ipopts := u(16, r, 1004, 12)
	ipopts.IPOptions = []byte{1, 1, 1, 1}
	icmpT := func(i int, dst []byte, typ, code uint8) []byte {
		return B(&packet.Spec{Src: c(i), Dst: addr(dst), Proto: packet.ProtoICMP, ICMPType: typ, ICMPCode: code, ICMPID: 9, ICMPSeq: uint16(i), PayloadLen: 8, ID: uint16(100 + i)})
	}
	pkts := [][]byte{
		// To the router.
		B(u(1, r, 1001, 0)),
		B(u(2, r, 1002, 10)),
		B(u(3, r, 1003, 3)),
		B(tos(u(4, r, 1004, 4), 0xFF)), // error TOS (0xff & 0x1e) | 0xc0
		B(tc(5, r, 1005, packet.TCPSyn, 0)),
		B(tos(tc(6, r, 1006, packet.TCPAck|packet.TCPPsh, 20), 0x10)),
		B(tc(7, r, 1007, packet.TCPSyn, 0)),
		B(withOpts(tc(8, r, 1008, packet.TCPSyn, 0), []byte{2, 4, 5, 0xb4, 1, 3, 3, 7})), // RST|ACK, ack = seq+1
		B(tc(9, r, 1008, packet.TCPAck|packet.TCPPsh, 100)),                              // RST, seq = ack
		B(tc(10, r, 1008, packet.TCPFin, 10)),                                            // RST|ACK, ack = seq+1+10
		B(tc(11, r, 1008, packet.TCPRst, 0)),                                             // no RST for a RST
		corrupt(B(tc(12, r, 1008, packet.TCPSyn, 0)), 16),                                // bad TCP checksum: nothing
		corrupt(B(u(13, r, 1004, 8)), 6),                                                 // bad UDP checksum: nothing
		zeroSum(B(u(14, r, 1004, 8))),                                                    // no UDP checksum: error
		B(u(15, r, 1004, 1000)),                                                          // quoted up to 548 bytes
		B(ipopts),                                                                        // IP options quoted
		ping(clientAddr(tp, 17), r, 7, 17, 64),                                           // error about an echo request
		icmpT(18, r, 3, 3),                                                               // no error about an error
		icmpT(19, r, 13, 0),                                                              // timestamp request: error
		raw(20, r, 253, make([]byte, 8)),                                                 // unknown protocol, sum 0: error
		raw(21, r, 253, []byte{1, 2, 3, 4, 5, 6, 7, 8}),                                  // sum not 0: checksum "bad", nothing
		B(u(22, r2, 1004, 0)),                                                            // error from the other interface's address
		B(tc(23, r2, 1008, packet.TCPSyn, 0)),
		// Forwarded to the server.
		B(u(24, s, 2001, 0)),
		B(u(25, s, 2002, 0)),
		B(u(26, s, 2003, 0)),
		B(tos(u(27, s, 2004, 0), 0x08)),
		B(tc(28, s, 2005, packet.TCPSyn, 0)),
		B(tc(29, s, 2006, packet.TCPSyn, 0)),
		B(tc(30, s, 2007, packet.TCPSyn, 0)),
		B(tc(31, s, 2008, packet.TCPSyn|packet.TCPAck, 0)), // RST from the server's address
		ping(clientAddr(tp, 32), s, 7, 32, 100),
		B(&packet.Spec{Src: c(33), Dst: addr(s), Proto: packet.ProtoUDP, SrcPort: 3333, DstPort: 2009, MF: true, PayloadLen: 32, ID: 133}), // first fragment: error
		B(&packet.Spec{Src: c(34), Dst: addr(s), Proto: packet.ProtoUDP, FragOffset: 10, PayloadLen: 16, ID: 134}),                         // later fragment: nothing
		B(tc(35, s, 2008, packet.TCPRst|packet.TCPAck, 0)),
	}
	// Rate limit: 9 errors due to one destination at once; 6 pass.
	for k := 0; k < 9; k++ {
		sp := u(40, r, 1004, k)
		sp.SrcPort = uint16(50000 + k)
		pkts = append(pkts, B(sp))
	}
	Send(t, tp.C, pkts...)
	// 1.1 s later the destination has earned one more error (275
	// jiffies of the 250 one costs): of two packets, one is answered.
	time.Sleep(1100 * time.Millisecond)
	var late [][]byte
	for k := 0; k < 2; k++ {
		sp := u(40, r, 1004, 20+k)
		sp.SrcPort = uint16(51000 + k)
		late = append(late, B(sp))
	}
	Send(t, tp.C, late...)
}

// setupReject gives the router neighbour entries for the client-side
// addresses and turns off transmit checksum offload on its veths: a TCP
// reset leaves the stack with CHECKSUM_PARTIAL, and on a veth that
// offloads it the capture would show the pseudo-header seed rather than
// the checksum a real device puts on the wire.
func setupReject(t *testing.T, tp *Topo) {
	for i := 0; i <= 45; i++ {
		tp.R.MustRun(t, "ip", "neigh", "replace", fmt.Sprint(net4(clientAddr(tp, i))), "lladdr", tp.MACc0, "dev", "r0")
	}
	for _, dev := range []string{"r0", "r1"} {
		if err := txChecksumOff(tp.R.Name, dev); err != nil {
			t.Skipf("cannot turn off tx checksum offload on %s: %v", dev, err)
		}
	}
}

func net4(b []byte) string { return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]) }

// txChecksumOff is `ethtool -K dev tx off` in namespace ns (the
// ETHTOOL_STXCSUM ioctl on a socket opened inside the namespace, from a
// thread that is thrown away afterwards).
func txChecksumOff(ns, dev string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if _, _, e := syscall.RawSyscall(308 /* SYS_SETNS, x86_64 */, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
			errc <- fmt.Errorf("setns: %v", e)
			return
		}
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
		if err != nil {
			errc <- err
			return
		}
		defer syscall.Close(fd)
		val := [2]uint32{0x17, 0} // struct ethtool_value{ETHTOOL_STXCSUM, 0}
		var ifr struct {
			name [16]byte
			data uintptr
			_    [16]byte
		}
		copy(ifr.name[:], dev)
		ifr.data = uintptr(unsafe.Pointer(&val))
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), 0x8946, uintptr(unsafe.Pointer(&ifr))); e != 0 {
			errc <- fmt.Errorf("SIOCETHTOOL: %v", e)
			return
		}
		runtime.KeepAlive(&val)
		errc <- nil
	}()
	return <-errc
}

// The outer IP ID of an ICMP error in a LOG line (the first ID= field of
// a line about a destination unreachable; the quoted packet's own ID
// follows in brackets and is compared).
var icmpErrorID = regexp.MustCompile(`^(.*? ID=)\d+( .*PROTO=ICMP TYPE=3 )`)

func maskLogIDs(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = icmpErrorID.ReplaceAllString(l, "${1}?${2}")
	}
	return out
}

func TestKernelReject(t *testing.T) {
	tp := NewTopo(t)
	setupReject(t, tp)
	k, frames := RunKernel(t, tp, rejectScenario)
	n := RunNfgo(t, tp, rejectScenario, frames)
	k.Log, n.Log = maskLogIDs(k.Log), maskLogIDs(n.Log)
	if Compare(t, rejectScenario.Name, k, n) {
		t.Logf("reject: identical: %d generated packets, %d LOG lines, counters", len(k.Replies), len(k.Log))
	}
	// The expected shape, independently of nfgo: resets carry ID 0.
	for _, p := range k.Replies {
		if p[9] == 6 && binary.BigEndian.Uint16(p[4:6]) != 0 {
			t.Errorf("kernel RST with IP ID %d", binary.BigEndian.Uint16(p[4:6]))
		}
	}
}
