// Package capture reads packet captures for nfgo's offline tools (replay,
// trace): pcap and pcapng files through gopacket's pcapgo, with the link
// types a Linux host's captures have — Ethernet, Linux cooked v1 (SLL)
// and v2 (SLL2, what `tcpdump -i any` writes), raw IP. Each IPv4 packet
// comes with its time, the interface and direction the capture records
// (SLL/SLL2 packet type, SLL2's interface index mapped through the host
// description, pcapng interface names and direction flags) or the
// caller's default, and the Ethernet header the kernel would have seen:
// the captured one, or one rebuilt where the capture lacks it (SLL keeps
// only the sender's address; the receiving interface's MAC is the
// destination of unicast frames). Several captures merge in timestamp
// order.
package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/host"
)

// Direction says whether the host received or sent a packet.
type Direction uint8

const (
	DirUnknown Direction = iota
	DirIn                // received (SLL: to us, broadcast, multicast, other host)
	DirOut               // sent by the host (SLL "outgoing", pcapng outbound)
)

func (d Direction) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	}
	return "unknown"
}

// Packet is one IPv4 packet of a capture.
type Packet struct {
	Time    int64  // Unix ns
	Iface   string // "" when neither the capture nor the source names it
	IfIndex int    // SLL2's interface index, 0 otherwise
	Dir     Direction
	// MAC is the 14-byte Ethernet header (destination, source, type
	// 0x0800), nil for raw IP captures.
	MAC []byte
	// IP is the IPv4 packet as captured (it may be shorter than its
	// total length when the snapshot length cut it).
	IP []byte
	// Truncated: the capture kept fewer bytes than the packet had.
	Truncated bool
	Source    int // index of the Source it came from
	Seq       int // position within its source (0-based, IPv4 packets only)
}

// Source is one capture file and what to assume where it records
// nothing: Iface (the IFACE= of an "IFACE=FILE" argument) and Dir.
type Source struct {
	Path  string
	Iface string
	Dir   Direction
}

// ParseSource reads a command-line capture argument: FILE or IFACE=FILE.
// An argument whose part before "=" names no plausible interface (it has
// a slash) is a path. The direction is left to the capture (or, for
// Ethernet frames, to the reader of their addresses).
func ParseSource(arg string) Source {
	if i := strings.IndexByte(arg, '='); i > 0 && !strings.Contains(arg[:i], "/") {
		return Source{Iface: arg[:i], Path: arg[i+1:]}
	}
	return Source{Path: arg}
}

// Interfaces maps SLL2 interface indexes to names and gives interfaces'
// MAC addresses (a host description).
type Interfaces interface {
	IfaceByIndex(idx int) (name string, ok bool)
	IfaceMAC(name string) net.HardwareAddr
}

// Stats counts what a read skipped.
type Stats struct {
	Packets   int // IPv4 packets returned
	NotIPv4   int // frames of other protocols (ARP, IPv6, ...)
	Malformed int // frames too short for their link header
}

// Linux packet types (SLL, SLL2: PACKET_*).
const (
	pktHost      = 0
	pktBroadcast = 1
	pktMulticast = 2
	pktOtherHost = 3
	pktOutgoing  = 4
)

// ErrFormat: the file is neither pcap nor pcapng.
var ErrFormat = errors.New("not a pcap or pcapng file")

// Read reads one capture's IPv4 packets.
func Read(src Source, ifs Interfaces, st *Stats) ([]Packet, error) {
	f, err := os.Open(src.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadFrom(f, src, ifs, st)
}

// ReadFrom is Read from an open stream.
func ReadFrom(r io.Reader, src Source, ifs Interfaces, st *Stats) ([]Packet, error) {
	if st == nil {
		st = &Stats{}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, ErrFormat)
	}
	var out []Packet
	add := func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, iface string, dir Direction) {
		p, ok := decode(data, lt, src, ifs, st)
		if !ok {
			return
		}
		p.Time = ci.Timestamp.UnixNano()
		p.Truncated = ci.CaptureLength < ci.Length
		if p.Iface == "" {
			p.Iface = iface
		}
		if p.Iface == "" {
			p.Iface = src.Iface
		}
		if p.Dir == DirUnknown {
			p.Dir = dir
		}
		if p.Dir == DirUnknown {
			p.Dir = src.Dir
		}
		p.Seq = len(out)
		out = append(out, p)
		st.Packets++
	}
	if binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", src.Path, err)
		}
		for {
			data, ci, opts, err := ng.ReadPacketDataWithOptions()
			if err == io.EOF {
				break
			}
			if err != nil {
				return out, fmt.Errorf("%s: %v", src.Path, err)
			}
			lt := ng.LinkType()
			if len(ci.AncillaryData) > 0 {
				if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					lt = l
				}
			}
			name := ""
			if ifc, err := ng.Interface(ci.InterfaceIndex); err == nil {
				name = ifc.Name
			}
			dir := DirUnknown
			if opts.Flags != nil {
				switch opts.Flags.Direction {
				case pcapgo.NgEpbFlagDirectionInbound:
					dir = DirIn
				case pcapgo.NgEpbFlagDirectionOutbound:
					dir = DirOut
				}
			}
			add(append([]byte(nil), data...), ci, lt, name, dir)
		}
		return out, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, ErrFormat)
	}
	lt := pr.LinkType()
	for {
		data, ci, err := pr.ReadPacketData()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("%s: %v", src.Path, err)
		}
		add(data, ci, lt, "", DirUnknown)
	}
	return out, nil
}

// decode takes one frame apart by link type.
func decode(data []byte, lt layers.LinkType, src Source, ifs Interfaces, st *Stats) (Packet, bool) {
	var p Packet
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			st.Malformed++
			return p, false
		}
		if binary.BigEndian.Uint16(data[12:14]) != 0x0800 {
			st.NotIPv4++
			return p, false
		}
		p.MAC, p.IP = data[:14:14], data[14:]
	case layers.LinkTypeLinuxSLL:
		// pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
		if len(data) < 16 {
			st.Malformed++
			return p, false
		}
		if binary.BigEndian.Uint16(data[14:16]) != 0x0800 {
			st.NotIPv4++
			return p, false
		}
		pkt := binary.BigEndian.Uint16(data[0:2])
		hatype := binary.BigEndian.Uint16(data[2:4])
		halen := int(binary.BigEndian.Uint16(data[4:6]))
		p.IP = data[16:]
		p.Dir = dirOf(int(pkt))
		p.Iface = src.Iface
		p.MAC = rebuildMAC(int(pkt), hatype, data[6:6+min(halen, 8)], p.Iface, p.IP, ifs)
	case layers.LinkTypeLinuxSLL2:
		// protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1)
		// halen(1) addr(8)
		if len(data) < 20 {
			st.Malformed++
			return p, false
		}
		if binary.BigEndian.Uint16(data[0:2]) != 0x0800 {
			st.NotIPv4++
			return p, false
		}
		p.IfIndex = int(binary.BigEndian.Uint32(data[4:8]))
		hatype := binary.BigEndian.Uint16(data[8:10])
		pkt := int(data[10])
		halen := int(data[11])
		p.IP = data[20:]
		p.Dir = dirOf(pkt)
		if ifs != nil {
			if name, ok := ifs.IfaceByIndex(p.IfIndex); ok {
				p.Iface = name
			}
		}
		if p.Iface == "" {
			p.Iface = src.Iface
		}
		p.MAC = rebuildMAC(pkt, hatype, data[12:12+min(halen, 8)], p.Iface, p.IP, ifs)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, 12, 14: // LINKTYPE_RAW, DLT_RAW variants
		if len(data) == 0 || data[0]>>4 != 4 {
			st.NotIPv4++
			return p, false
		}
		p.IP = data
	default:
		st.NotIPv4++
		return p, false
	}
	if len(p.IP) == 0 || p.IP[0]>>4 != 4 {
		st.NotIPv4++
		return p, false
	}
	return p, true
}

func dirOf(pkttype int) Direction {
	switch pkttype {
	case pktOutgoing:
		return DirOut
	case pktHost, pktBroadcast, pktMulticast, pktOtherHost:
		return DirIn
	}
	return DirUnknown
}

// rebuildMAC makes the Ethernet header of a cooked frame: the sender's
// address from the capture, the destination by packet type (the
// receiving interface's own MAC for frames to the host, all ones for
// broadcast, the IPv4 multicast MAC for multicast, zeros where the
// capture cannot know it). Frames of non-Ethernet devices (loopback,
// tunnels) get the header their device has: lo's all-zero one, none for
// devices without a link layer.
func rebuildMAC(pkttype int, hatype uint16, addr []byte, iface string, ip []byte, ifs Interfaces) []byte {
	const arphrdEther, arphrdLoopback = 1, 772
	switch hatype {
	case arphrdEther:
	case arphrdLoopback:
		m := make([]byte, 14)
		m[12], m[13] = 0x08, 0x00
		return m
	default:
		return nil
	}
	m := make([]byte, 14)
	m[12], m[13] = 0x08, 0x00
	switch pkttype {
	case pktHost:
		if ifs != nil {
			copy(m[0:6], ifs.IfaceMAC(iface))
		}
	case pktBroadcast:
		copy(m[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	case pktMulticast:
		if len(ip) >= 20 {
			m[0], m[1], m[2] = 0x01, 0x00, 0x5e
			m[3], m[4], m[5] = ip[17]&0x7f, ip[18], ip[19]
		}
	case pktOutgoing:
		// The sender is this host; the neighbour's address is not
		// recorded.
	}
	copy(m[6:12], addr)
	return m
}

// ReadAll reads every source and merges their packets in timestamp order
// (packets with equal times keep the order of their sources, then of
// their files).
func ReadAll(srcs []Source, ifs Interfaces, st *Stats) ([]Packet, error) {
	var all []Packet
	for i, s := range srcs {
		ps, err := Read(s, ifs, st)
		if err != nil {
			return nil, err
		}
		for j := range ps {
			ps[j].Source = i
		}
		all = append(all, ps...)
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].Time < all[b].Time })
	return all, nil
}

// hostInterfaces adapts a host description.
type hostInterfaces struct{ h *host.Host }

// HostInterfaces gives a host description's interfaces to the reader
// (SLL2 interface indexes, receiving MACs).
func HostInterfaces(h *host.Host) Interfaces { return hostInterfaces{h} }

func (x hostInterfaces) IfaceByIndex(idx int) (string, bool) {
	if x.h == nil {
		return "", false
	}
	if i := x.h.IfaceByIndex(idx); i != nil {
		return i.Name, true
	}
	return "", false
}

func (x hostInterfaces) IfaceMAC(name string) net.HardwareAddr {
	if x.h == nil {
		return nil
	}
	if i := x.h.Iface(name); i != nil {
		return i.MAC
	}
	return nil
}
