package gateway

import (
	"bytes"
	"os"
	"strings"
	"testing"

	gw "github.com/nfgo/nfgo/gateway"
	"github.com/nfgo/nfgo/logpipe"
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

// A configuration file holds the command line's options without their
// dashes; its options come first, so the command line's win, and a
// repeatable option adds up. Anything else is refused naming the line.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/gateway.conf"
	text := "# the two sides\ntun gw0,10.0.1.1/24,netns=a,peer=10.0.1.2/24,default\n\n\ttun\tgw1,10.0.2.1/24\nqueues 2\nstate /nonexistent\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	args, err := expandConfig([]string{"--config", conf, "--state", dir, "--tun", "gw2,10.0.3.1/24"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--tun", "gw0,10.0.1.1/24,netns=a,peer=10.0.1.2/24,default", "--tun", "gw1,10.0.2.1/24",
		"--queues", "2", "--state", "/nonexistent", "--state", dir, "--tun", "gw2,10.0.3.1/24"}
	if strings.Join(args, " ") != strings.Join(want, " ") {
		t.Errorf("got %q\nwant %q", args, want)
	}
	for text, msg := range map[string]string{
		"tun gw0,10.0.1.1/24\nfoo bar\n":  conf + ":2: unknown option \"foo\"",
		"--tun gw0,10.0.1.1/24\n":         conf + ":1: unknown option \"--tun\"",
		"metrics\n":                       conf + ":1: option metrics needs a value",
		"tun gw0\n":                       "--tun \"gw0\": ",
		"queues 0\ntun gw0,10.0.1.1/24\n": "bad queue count",
	} {
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if code := Main([]string{"--config", conf}, &Env{Stdout: &out, Stderr: &errb, StateDir: dir}); code != 2 || !strings.Contains(errb.String(), msg) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", text, code, errb.String(), msg)
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--config", dir + "/missing.conf"}, &Env{Stdout: &out, Stderr: &errb, StateDir: dir}); code != 2 || !strings.Contains(errb.String(), "no such file") {
		t.Errorf("missing file: exit %d, %q", code, errb.String())
	}
}

// FuzzParseConfig: any configuration file is turned into options or
// refused, never a panic; what it gives is pairs of a known option and a
// value.
func FuzzParseConfig(f *testing.F) {
	f.Add("# c\ntun gw0,10.0.1.1/24\nqueues 2\n")
	f.Add("tun\t\tx\n\n  log /tmp/x\n")
	f.Add("metrics\n")
	f.Fuzz(func(t *testing.T, s string) {
		args, err := parseConfig("f", s)
		if err != nil {
			return
		}
		if len(args)%2 != 0 {
			t.Fatalf("%q: odd %q", s, args)
		}
		for i := 0; i < len(args); i += 2 {
			if !configOptions[strings.TrimPrefix(args[i], "--")] || args[i+1] == "" {
				t.Fatalf("%q: %q", s, args)
			}
		}
	})
}

// The example configuration the systemd unit reads parses, every value
// accepted by the option's own parser.
func TestContribConfig(t *testing.T) {
	unit, err := os.ReadFile("../../contrib/nfgo-gateway.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "--config "+DefaultConfig) {
		t.Errorf("the unit does not read %s", DefaultConfig)
	}
	b, err := os.ReadFile("../../contrib/gateway.conf")
	if err != nil {
		t.Fatal(err)
	}
	args, err := parseConfig("gateway.conf", string(b))
	if err != nil {
		t.Fatal(err)
	}
	tuns := 0
	for i := 0; i < len(args); i += 2 {
		var err error
		switch args[i] {
		case "--tun":
			tuns++
			_, err = parseTun(args[i+1])
		case "--log-rotate":
			_, err = logpipe.ParseRotate(args[i+1])
		case "--log-route":
			_, err = logpipe.ParseRoute(args[i+1])
		}
		if err != nil {
			t.Errorf("%s %s: %v", args[i], args[i+1], err)
		}
	}
	if tuns != 2 {
		t.Errorf("%d tun devices in the example", tuns)
	}
}
