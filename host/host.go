// Package host owns the model of the machine a ruleset runs on: its
// interfaces (name, index, MAC, MTU, addresses), its routes (longest
// prefix match), which addresses are its own, and whether it forwards.
// A host is loaded from the JSON that `ip -j addr show` and
// `ip -j route show` print, or built in code.
package host

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// Addr is one IPv4 address of an interface.
type Addr struct {
	IP        netip.Addr
	PrefixLen int
	Broadcast netip.Addr // the subnet broadcast address, if any
	// Scope is the address scope ("global", "host", "link"; "" means
	// global), Secondary marks a further address on a subnet the
	// interface already has one on.
	Scope     string
	Secondary bool
}

// Interface is one network device.
type Interface struct {
	Index    int
	Name     string
	MAC      net.HardwareAddr
	MTU      int
	Up       bool
	LinkType string // "ether", "loopback", "none", ...
	Addrs    []Addr
}

// Primary returns the interface's first IPv4 address (REDIRECT's and
// MASQUERADE's choice).
func (i *Interface) Primary() (netip.Addr, bool) {
	if len(i.Addrs) == 0 {
		return netip.Addr{}, false
	}
	return i.Addrs[0].IP, true
}

// Route is one IPv4 route of the main table.
type Route struct {
	Dst     netip.Prefix // 0.0.0.0/0 for "default"
	Gateway netip.Addr   // invalid when on-link
	Dev     string
	PrefSrc netip.Addr
	Type    string // "unicast" (default), "blackhole", "unreachable", "prohibit", "local", "broadcast"
	Metric  int
}

// Host is a machine: interfaces, routes, forwarding.
type Host struct {
	Interfaces []*Interface
	Routes     []Route // sorted: longest prefix first, then lowest metric
	Forwarding bool
}

// ipAddrJSON mirrors the fields of `ip -j addr show` that matter here.
type ipAddrJSON struct {
	IfIndex   int      `json:"ifindex"`
	IfName    string   `json:"ifname"`
	Flags     []string `json:"flags"`
	MTU       int      `json:"mtu"`
	LinkType  string   `json:"link_type"`
	Address   string   `json:"address"`
	Operstate string   `json:"operstate"`
	AddrInfo  []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
		Broadcast string `json:"broadcast"`
		Scope     string `json:"scope"`
		Secondary bool   `json:"secondary"`
	} `json:"addr_info"`
}

type ipRouteJSON struct {
	Type    string `json:"type"`
	Dst     string `json:"dst"`
	Gateway string `json:"gateway"`
	Dev     string `json:"dev"`
	PrefSrc string `json:"prefsrc"`
	Metric  int    `json:"metric"`
	Table   string `json:"table"`
}

// ParseAddrJSON reads `ip -j addr show` output.
func ParseAddrJSON(data []byte) ([]*Interface, error) {
	var in []ipAddrJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("ip -j addr show: %w", err)
	}
	var out []*Interface
	for _, j := range in {
		if j.IfName == "" {
			return nil, fmt.Errorf("ip -j addr show: interface %d has no name", j.IfIndex)
		}
		ifc := &Interface{Index: j.IfIndex, Name: j.IfName, MTU: j.MTU, LinkType: j.LinkType}
		for _, f := range j.Flags {
			if f == "UP" {
				ifc.Up = true
			}
		}
		if j.Address != "" {
			if mac, err := net.ParseMAC(j.Address); err == nil {
				ifc.MAC = mac
			}
		}
		for _, a := range j.AddrInfo {
			if a.Family != "inet" {
				continue
			}
			ip, err := netip.ParseAddr(a.Local)
			if err != nil || !ip.Is4() {
				return nil, fmt.Errorf("ip -j addr show: %s: bad address %q", j.IfName, a.Local)
			}
			if a.PrefixLen < 0 || a.PrefixLen > 32 {
				return nil, fmt.Errorf("ip -j addr show: %s: bad prefix length %d", j.IfName, a.PrefixLen)
			}
			ad := Addr{IP: ip, PrefixLen: a.PrefixLen, Scope: a.Scope, Secondary: a.Secondary}
			if b, err := netip.ParseAddr(a.Broadcast); err == nil && b.Is4() {
				ad.Broadcast = b
			}
			ifc.Addrs = append(ifc.Addrs, ad)
		}
		out = append(out, ifc)
	}
	return out, nil
}

// ParseRouteJSON reads `ip -j route show` output (the main table; entries
// of other tables are skipped).
func ParseRouteJSON(data []byte) ([]Route, error) {
	var in []ipRouteJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("ip -j route show: %w", err)
	}
	var out []Route
	for _, j := range in {
		if j.Table != "" && j.Table != "main" {
			continue
		}
		r := Route{Dev: j.Dev, Type: j.Type, Metric: j.Metric}
		if r.Type == "" {
			r.Type = "unicast"
		}
		switch {
		case j.Dst == "default":
			r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		case strings.Contains(j.Dst, "/"):
			p, err := netip.ParsePrefix(j.Dst)
			if err != nil || !p.Addr().Is4() {
				if err == nil {
					continue // IPv6
				}
				return nil, fmt.Errorf("ip -j route show: bad destination %q", j.Dst)
			}
			r.Dst = p.Masked()
		default:
			a, err := netip.ParseAddr(j.Dst)
			if err != nil {
				return nil, fmt.Errorf("ip -j route show: bad destination %q", j.Dst)
			}
			if !a.Is4() {
				continue
			}
			r.Dst = netip.PrefixFrom(a, 32)
		}
		if j.Gateway != "" {
			g, err := netip.ParseAddr(j.Gateway)
			if err != nil {
				return nil, fmt.Errorf("ip -j route show: bad gateway %q", j.Gateway)
			}
			r.Gateway = g
		}
		if j.PrefSrc != "" {
			if p, err := netip.ParseAddr(j.PrefSrc); err == nil {
				r.PrefSrc = p
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// New builds a host and orders its routes for lookup.
func New(ifaces []*Interface, routes []Route, forwarding bool) *Host {
	h := &Host{Interfaces: ifaces, Routes: append([]Route(nil), routes...), Forwarding: forwarding}
	sort.SliceStable(h.Routes, func(i, j int) bool {
		if h.Routes[i].Dst.Bits() != h.Routes[j].Dst.Bits() {
			return h.Routes[i].Dst.Bits() > h.Routes[j].Dst.Bits()
		}
		return h.Routes[i].Metric < h.Routes[j].Metric
	})
	return h
}

// Load builds a host from the two JSON documents.
func Load(addrJSON, routeJSON []byte, forwarding bool) (*Host, error) {
	ifs, err := ParseAddrJSON(addrJSON)
	if err != nil {
		return nil, err
	}
	var rts []Route
	if len(routeJSON) > 0 {
		if rts, err = ParseRouteJSON(routeJSON); err != nil {
			return nil, err
		}
	}
	return New(ifs, rts, forwarding), nil
}

// Iface finds an interface by name.
func (h *Host) Iface(name string) *Interface {
	for _, i := range h.Interfaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// IfaceByIndex finds an interface by index.
func (h *Host) IfaceByIndex(idx int) *Interface {
	for _, i := range h.Interfaces {
		if i.Index == idx {
			return i
		}
	}
	return nil
}

// IsLocal reports whether a is one of the host's own addresses (the
// kernel's local table: every interface address, and all of 127.0.0.0/8
// when lo has an address there).
func (h *Host) IsLocal(a netip.Addr) bool {
	for _, i := range h.Interfaces {
		for _, ad := range i.Addrs {
			if ad.IP == a {
				return true
			}
			if i.LinkType == "loopback" && ad.IP.Is4() {
				if p := netip.PrefixFrom(ad.IP, ad.PrefixLen).Masked(); p.Contains(a) {
					return true
				}
			}
		}
	}
	return false
}

// IsBroadcast reports a limited or subnet broadcast address of the host.
func (h *Host) IsBroadcast(a netip.Addr) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, i := range h.Interfaces {
		for _, ad := range i.Addrs {
			if ad.Broadcast.IsValid() && ad.Broadcast == a {
				return true
			}
		}
	}
	return false
}

// Lookup returns the route for dst: longest prefix, then lowest metric.
func (h *Host) Lookup(dst netip.Addr) (Route, bool) {
	for _, r := range h.Routes {
		if r.Dst.Contains(dst) {
			return r, true
		}
	}
	return Route{}, false
}

// IsLocalOn reports whether a is an address of the named interface.
func (h *Host) IsLocalOn(a netip.Addr, dev string) bool {
	if i := h.Iface(dev); i != nil {
		for _, ad := range i.Addrs {
			if ad.IP == a {
				return true
			}
		}
	}
	return false
}

// SourceFor is the source address the host uses towards dst: the route's
// preferred source, else the primary address of the route's device.
func (h *Host) SourceFor(dst netip.Addr) (netip.Addr, bool) {
	r, ok := h.Lookup(dst)
	if !ok {
		return netip.Addr{}, false
	}
	if r.PrefSrc.IsValid() {
		return r.PrefSrc, true
	}
	if i := h.Iface(r.Dev); i != nil {
		return i.Primary()
	}
	return netip.Addr{}, false
}

// SelectAddr is inet_select_addr(dev, nh, RT_SCOPE_UNIVERSE), the
// address MASQUERADE gives a connection leaving through dev towards next
// hop nh: the device's first primary global address whose subnet holds
// nh, else its first primary global address, else (a device without one)
// the first primary global address of any other device.
func (h *Host) SelectAddr(dev string, nh netip.Addr) (netip.Addr, bool) {
	global := func(a Addr) bool { return !a.Secondary && (a.Scope == "" || a.Scope == "global") }
	if i := h.Iface(dev); i != nil {
		var first netip.Addr
		for _, a := range i.Addrs {
			if !global(a) {
				continue
			}
			if netip.PrefixFrom(a.IP, a.PrefixLen).Masked().Contains(nh) {
				return a.IP, true
			}
			if !first.IsValid() {
				first = a.IP
			}
		}
		if first.IsValid() {
			return first, true
		}
	}
	for _, i := range h.Interfaces {
		for _, a := range i.Addrs {
			if global(a) {
				return a.IP, true
			}
		}
	}
	return netip.Addr{}, false
}

// NextHop is rt_nexthop: the route's gateway towards dst, or dst itself
// on a directly connected network.
func (h *Host) NextHop(dst netip.Addr) netip.Addr {
	if r, ok := h.Lookup(dst); ok && r.Gateway.IsValid() {
		return r.Gateway
	}
	return dst
}
