package gateway

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// configure moves a device into its namespace and gives it the peer's
// address there (up, and a default route via the gateway's address), or,
// without a namespace, brings it up with the peer's address here.
func configure(dc DeviceConfig) error {
	link, err := netlink.LinkByName(dc.Name)
	if err != nil {
		return err
	}
	h := &netlink.Handle{}
	if dc.Netns != "" {
		ns, err := netns.GetFromPath(filepath.Join("/var/run/netns", dc.Netns))
		if err != nil {
			return fmt.Errorf("namespace %s: %v", dc.Netns, err)
		}
		defer ns.Close()
		if err := netlink.LinkSetNsFd(link, int(ns)); err != nil {
			return fmt.Errorf("moving into %s: %v", dc.Netns, err)
		}
		if h, err = netlink.NewHandleAt(ns); err != nil {
			return err
		}
		defer h.Close()
		if link, err = h.LinkByName(dc.Name); err != nil {
			return err
		}
	}
	if dc.PeerAddr.IsValid() {
		ip := net.IP(dc.PeerAddr.Addr().AsSlice())
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(dc.PeerAddr.Bits(), 32)}}
		if err := h.AddrAdd(link, addr); err != nil && !os.IsExist(err) {
			return fmt.Errorf("address %s: %v", dc.PeerAddr, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return err
	}
	if dc.PeerDefault && dc.Netns != "" {
		gw := net.IP(dc.Addr.Addr().AsSlice())
		if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw}); err != nil && !os.IsExist(err) {
			return fmt.Errorf("default route via %s: %v", dc.Addr.Addr(), err)
		}
	}
	runtime.KeepAlive(h)
	return nil
}
