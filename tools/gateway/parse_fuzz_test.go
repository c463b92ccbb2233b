package gateway

import (
	"bytes"
	"strings"
	"testing"

	gw "github.com/nfgo/nfgo/gateway"
)

// FuzzParseSpecs: any --tun or --route argument is parsed or refused with
// an error, never a panic; what parses names a device and an IPv4 prefix.
func FuzzParseSpecs(f *testing.F) {
	f.Add("gw0,10.0.1.1/24,netns=a,peer=10.0.1.2/24,default,mtu=1400")
	f.Add("10.9.0.0/16,via=10.0.1.2,dev=gw0")
	f.Add(",,,")
	f.Add("gw0,10.0.1.1/24,queues=4")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseTun(s); err == nil && (d.Name == "" || !d.Addr.Addr().Is4() || d.Queues < 0 || d.Queues > gw.MaxQueues) {
			t.Fatalf("%q parsed to %+v", s, d)
		}
		if r, err := parseRoute(s); err == nil && (r.Dev == "" || !r.Dst.IsValid()) {
			t.Fatalf("%q parsed to %+v", s, r)
		}
	})
}

// A queue count is 1 to MaxQueues, for all devices (--queues) or one
// (queues=); anything else is refused before a device is made.
func TestQueuesOption(t *testing.T) {
	if d, err := parseTun("gw0,10.0.1.1/24,queues=4"); err != nil || d.Queues != 4 {
		t.Errorf("queues=4: %+v %v", d, err)
	}
	for _, args := range [][]string{
		{"--queues", "0", "--tun", "gw0,10.0.1.1/24"},
		{"--queues", "x", "--tun", "gw0,10.0.1.1/24"},
		{"--queues", "65", "--tun", "gw0,10.0.1.1/24"},
		{"--tun", "gw0,10.0.1.1/24,queues=0"},
	} {
		var out, errb bytes.Buffer
		if code := Main(args, &Env{Stdout: &out, Stderr: &errb, StateDir: t.TempDir()}); code != 2 || !strings.Contains(errb.String(), "bad queue count") {
			t.Errorf("%v: exit %d, %q", args, code, errb.String())
		}
	}
}
