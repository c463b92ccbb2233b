package xt

import (
	"strings"
	"testing"
)

// FuzzRecentProcWrite: any write to /proc/net/xt_recent/NAME ("+ADDR",
// "-ADDR", "/") is taken or refused as the kernel's recent_mt_proc_write
// takes it, never a panic; what it takes is at most what was written, and
// the list still reads back in its format afterwards.
func FuzzRecentProcWrite(f *testing.F) {
	for _, s := range []string{"+10.0.0.9\n", "-10.0.0.2", "/", "+010.000.0.0009", "+::1", "+10.0.0.3\x00junk", "", "+255.255.255.255\n"} {
		f.Add(s)
	}
	in, _, err := buildExt(&recentMatch, 0, strings.Fields("--update --hitcount 3 --name FZ")...)
	if err != nil {
		f.Fatal(err)
	}
	if err := in.Ext.(Binder).Bind(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := RecentProcWrite("FZ", []byte(s), stAt(1000))
		if n < 0 || n > len(s) || (err != nil && n != 0) {
			t.Fatalf("write %q: %d %v", s, n, err)
		}
		text, ok := RecentProcRead("FZ")
		if !ok {
			t.Fatal("the list went away")
		}
		for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if l != "" && !strings.HasPrefix(l, "src=") {
				t.Fatalf("after %q the list reads %q", s, text)
			}
		}
	})
}
