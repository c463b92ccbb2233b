// Command ipsetsend measures what the kernel's OUTPUT hook costs a UDP
// send, for scripts/bench-ipset-lookup.sh: it sends -packets datagrams to
// destinations that are members of the benchmark sets (the same elements
// as BenchmarkLookup* in ipset/ipset_test.go), in batches of sendmmsg, and
// prints the thread's CPU time per packet in nanoseconds. netfilter's
// OUTPUT chain runs in the sending thread (the system call), so the
// difference between runs with and without set-match rules is what those
// rules cost the packet.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// dest is the address sent to for element k: hash:ip holds 10.0.0.0+7k;
// hash:net holds /32, /28, /24 and /20 networks in turn, each length in a
// region of its own (benchNet in ipset/ipset_test.go), and the address is
// inside the k-th network.
func dest(typ string, k int) uint32 {
	if typ == "ip" {
		return uint32(0x0a000000 + k*7)
	}
	c := []uint32{32, 28, 24, 20}[k%4]
	base := []uint32{0x0a000000, 0x14000000, 0x20000000, 0x40000000}[k%4]
	net := base + uint32(k/4)<<(32-c)
	var host uint32
	if c < 32 {
		host = ^(^uint32(0) << (32 - c)) & 0x5
	}
	return net | host
}

type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

func cpuNow() int64 {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return ts.Nano()
}

func main() {
	typ := flag.String("type", "ip", "ip (hash:ip elements) or net (hash:net elements)")
	n := flag.Int("n", 1000, "elements in the set")
	hot := flag.Int("hot", 0, "if > 0, cycle over this many distinct elements only (scattered over the set)")
	packets := flag.Int("packets", 1000000, "datagrams to send")
	flag.Parse()

	// The lookups are scattered as the Go benchmark's: element k*2654435761 mod n.
	cycle := *n
	if *hot > 0 {
		cycle = *hot
	}
	addrs := make([]uint32, cycle)
	for i := range addrs {
		addrs[i] = dest(*typ, int(uint64(i)*2654435761%uint64(*n)))
	}

	runtime.LockOSThread()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	const batch = 64
	var (
		msgs  [batch]mmsghdr
		sas   [batch]syscall.RawSockaddrInet4
		iovs  [batch]syscall.Iovec
		payld = []byte{0}
	)
	for j := range msgs {
		iovs[j].Base = &payld[0]
		iovs[j].SetLen(1)
		sas[j].Family = syscall.AF_INET
		sas[j].Port = 9 << 8 // discard, network order
		msgs[j].hdr.Name = (*byte)(unsafe.Pointer(&sas[j]))
		msgs[j].hdr.Namelen = syscall.SizeofSockaddrInet4
		msgs[j].hdr.Iov = &iovs[j]
		msgs[j].hdr.Iovlen = 1
	}
	send := func(count int, pos int) int {
		for sent := 0; sent < count; {
			m := min(batch, count-sent)
			for j := 0; j < m; j++ {
				a := addrs[pos]
				sas[j].Addr = [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}
				if pos++; pos == len(addrs) {
					pos = 0
				}
			}
			r, _, e := syscall.Syscall6(sysSendmmsg, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(m), 0, 0, 0)
			if e != 0 {
				fmt.Fprintln(os.Stderr, "sendmmsg:", e)
				os.Exit(1)
			}
			sent += int(r)
		}
		return pos
	}
	pos := send(min(*packets, 10000), 0) // warm up the route and the code
	t0 := cpuNow()
	send(*packets, pos)
	t1 := cpuNow()
	fmt.Printf("%.1f\n", float64(t1-t0)/float64(*packets))
}
