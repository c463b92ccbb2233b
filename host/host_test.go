package host

import (
	"net/netip"
	"os/exec"
	"testing"
)

const addrJSON = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"},{"family":"inet6","local":"::1","prefixlen":128}]},
{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"link_type":"ether","address":"52:54:00:aa:bb:cc","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":24,"broadcast":"192.0.2.255"}]},
{"ifindex":3,"ifname":"eth1","flags":["BROADCAST","UP"],"mtu":1400,"link_type":"ether","address":"52:54:00:11:22:33","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":8,"broadcast":"10.255.255.255"}]}]`

const routeJSON = `[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},
{"dst":"192.0.2.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"192.0.2.2","flags":[]},
{"dst":"10.0.0.0/8","dev":"eth1","protocol":"kernel","scope":"link","prefsrc":"10.0.0.1","flags":[]},
{"dst":"10.9.0.0/16","gateway":"10.0.0.254","dev":"eth1","metric":100,"flags":[]},
{"dst":"10.9.0.0/16","gateway":"10.0.0.253","dev":"eth1","metric":50,"flags":[]},
{"type":"blackhole","dst":"198.51.100.0/24","flags":[]},
{"type":"local","dst":"127.0.0.1","dev":"lo","table":"local","flags":[]}]`

func TestLoadAndLookup(t *testing.T) {
	h, err := Load([]byte(addrJSON), []byte(routeJSON), true)
	if err != nil {
		t.Fatal(err)
	}
	eth1 := h.Iface("eth1")
	if eth1 == nil || eth1.Index != 3 || eth1.MTU != 1400 || eth1.MAC.String() != "52:54:00:11:22:33" || !eth1.Up {
		t.Fatalf("eth1: %+v", eth1)
	}
	if p, _ := eth1.Primary(); p != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("primary %v", p)
	}
	for dst, want := range map[string]string{
		"8.8.8.8":      "eth0 via 192.0.2.1",
		"192.0.2.77":   "eth0 via invalid IP",
		"10.1.2.3":     "eth1 via invalid IP",
		"10.9.1.1":     "eth1 via 10.0.0.253",
		"198.51.100.5": " via invalid IP blackhole",
	} {
		r, ok := h.Lookup(netip.MustParseAddr(dst))
		got := r.Dev + " via " + r.Gateway.String()
		if r.Type != "unicast" {
			got += " " + r.Type
		}
		if !ok || got != want {
			t.Errorf("%s: %q, want %q", dst, got, want)
		}
	}
	for a, want := range map[string]bool{"192.0.2.2": true, "127.0.0.53": true, "10.0.0.1": true, "10.0.0.2": false} {
		if h.IsLocal(netip.MustParseAddr(a)) != want {
			t.Errorf("IsLocal(%s) != %v", a, want)
		}
	}
	if !h.IsBroadcast(netip.MustParseAddr("10.255.255.255")) || h.IsBroadcast(netip.MustParseAddr("10.0.0.255")) {
		t.Error("broadcast")
	}
}

// This machine's own `ip -j` output loads.
func TestLoadThisMachine(t *testing.T) {
	a, err := exec.Command("ip", "-j", "addr", "show").Output()
	if err != nil {
		t.Skip("ip not available: ", err)
	}
	r, _ := exec.Command("ip", "-j", "route", "show").Output()
	h, err := Load(a, r, false)
	if err != nil {
		t.Fatal(err)
	}
	if h.Iface("lo") == nil || !h.IsLocal(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("lo missing")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(addrJSON), []byte(routeJSON))
	f.Add([]byte(`[]`), []byte(`[{"dst":"::/0"}]`))
	f.Fuzz(func(t *testing.T, a, r []byte) {
		h, err := Load(a, r, true)
		if err != nil {
			return
		}
		h.Lookup(netip.MustParseAddr("1.2.3.4"))
		h.IsLocal(netip.MustParseAddr("1.2.3.4"))
	})
}
