package gateway

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/packet"
)

// The virtio-net header a TUN with IFF_VNET_HDR puts before each frame
// (struct virtio_net_hdr, in the host's byte order). Through it the
// kernel hands the gateway GSO super-packets with partial checksums, and
// takes them back the same way: the gateway forwards them unsplit.
const vnetHdrLen = 10

type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
}

func decodeVnetHdr(b []byte) vnetHdr {
	e := binary.NativeEndian
	return vnetHdr{flags: b[0], gsoType: b[1], hdrLen: e.Uint16(b[2:]), gsoSize: e.Uint16(b[4:]),
		csumStart: e.Uint16(b[6:]), csumOffset: e.Uint16(b[8:])}
}

// csumOffset is where the transport checksum sits in the TCP or UDP
// header (0 for other protocols).
func csumOffset(proto uint8) int {
	switch proto {
	case packet.ProtoTCP:
		return 16
	case packet.ProtoUDP:
		return 6
	}
	return 0
}

// apply sets the decoded packet's offload state from the header. A
// partial checksum the engine knows how to carry (TCP or UDP, starting at
// the transport header) stays partial; any other is completed here. A
// GSO packet must be IPv4 TCP or UDP with a partial checksum; false
// means the frame is not one the gateway can forward.
func (h *vnetHdr) apply(p *packet.Parsed) bool {
	partial := h.flags&unix.VIRTIO_NET_HDR_F_NEEDS_CSUM != 0
	carried := partial && int(h.csumStart) == p.IHL && int(h.csumOffset) == csumOffset(p.Proto) &&
		!p.IsFragment() && p.L4Complete && p.IHL+p.L4HeaderLen() <= len(p.B)
	switch h.gsoType {
	case unix.VIRTIO_NET_HDR_GSO_NONE:
		if !partial {
			return true
		}
		if carried {
			p.CsumPartial = true
			return true
		}
		return packet.FinishChecksum(p.B, int(h.csumStart), int(h.csumOffset))
	case unix.VIRTIO_NET_HDR_GSO_TCPV4:
		if !carried || p.Proto != packet.ProtoTCP || h.gsoSize == 0 {
			return false
		}
	case unix.VIRTIO_NET_HDR_GSO_UDP_L4:
		if !carried || p.Proto != packet.ProtoUDP || h.gsoSize == 0 {
			return false
		}
	default:
		return false
	}
	p.CsumPartial, p.GSOSize = true, int(h.gsoSize)
	return true
}

// putVnetHdr writes the header for a packet with offload state p (nil:
// a complete packet).
func putVnetHdr(b []byte, p *packet.Parsed) {
	clear(b[:vnetHdrLen])
	if p == nil || !p.CsumPartial {
		return
	}
	e := binary.NativeEndian
	b[0] = unix.VIRTIO_NET_HDR_F_NEEDS_CSUM
	e.PutUint16(b[6:], uint16(p.IHL))
	e.PutUint16(b[8:], uint16(csumOffset(p.Proto)))
	if p.GSOSize > 0 {
		b[1] = unix.VIRTIO_NET_HDR_GSO_TCPV4
		if p.Proto == packet.ProtoUDP {
			b[1] = unix.VIRTIO_NET_HDR_GSO_UDP_L4
		}
		e.PutUint16(b[2:], uint16(p.IHL+p.L4HeaderLen()))
		e.PutUint16(b[4:], uint16(p.GSOSize))
	}
}

// vnetHdrOf is the header length frames on the TUN behind rc carry:
// vnetHdrLen when it was opened with IFF_VNET_HDR (wireguard/tun does,
// and enables the offloads), else 0.
func vnetHdrOf(rc syscall.RawConn) (int, error) {
	var flags uint16
	var err error
	cerr := rc.Control(func(fd uintptr) {
		var ifr *unix.Ifreq
		ifr, err = unix.NewIfreq("")
		if err != nil {
			return
		}
		if err = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr); err == nil {
			flags = ifr.Uint16()
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	if err != nil {
		return 0, err
	}
	if flags&unix.IFF_VNET_HDR != 0 {
		return vnetHdrLen, nil
	}
	return 0, nil
}
