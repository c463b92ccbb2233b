package gateway

import "testing"

// FuzzParseSpecs: any --tun or --route argument is parsed or refused with
// an error, never a panic; what parses names a device and an IPv4 prefix.
func FuzzParseSpecs(f *testing.F) {
	f.Add("gw0,10.0.1.1/24,netns=a,peer=10.0.1.2/24,default,mtu=1400")
	f.Add("10.9.0.0/16,via=10.0.1.2,dev=gw0")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseTun(s); err == nil && (d.Name == "" || !d.Addr.Addr().Is4()) {
			t.Fatalf("%q parsed to %+v", s, d)
		}
		if r, err := parseRoute(s); err == nil && (r.Dev == "" || !r.Dst.IsValid()) {
			t.Fatalf("%q parsed to %+v", s, r)
		}
	})
}
