package logpipe

import (
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	for _, c := range []struct {
		in   string
		want RouteSpec
	}{
		{"[plantegg]=/var/log/plantegg.log", RouteSpec{Prefix: "[plantegg]", Target: "/var/log/plantegg.log"}},
		{"[plantegg] =/var/log/a=b.log", RouteSpec{Prefix: "[plantegg] ", Target: "/var/log/a=b.log"}},
		{"TRACE: +=trace.log", RouteSpec{Prefix: "TRACE: ", Target: "trace.log", Continue: true}},
		{`"IN=eth1 "=eth1.log`, RouteSpec{Prefix: "IN=eth1 ", Target: "eth1.log"}},
		{`"a\"b+"+=-`, RouteSpec{Prefix: `a"b+`, Target: "-", Continue: true}},
		{"[drds_reject] =syslog", RouteSpec{Prefix: "[drds_reject] ", Target: "syslog"}},
		{"x=syslog:/run/log.sock", RouteSpec{Prefix: "x", Target: "syslog:/run/log.sock"}},
	} {
		got, err := ParseRoute(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRoute(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if back, err := ParseRoute(got.String()); err != nil || back != got {
			t.Errorf("%q: String %q reads back as %+v, %v", c.in, got.String(), back, err)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"/var/log/x.log", `route "/var/log/x.log": want PREFIX=FILE, e.g. '[plantegg]=/var/log/plantegg.log'`},
		{"=x.log", `route "=x.log": empty prefix (lines no route takes go to the default log)`},
		{"+=x.log", `route "+=x.log": empty prefix (lines no route takes go to the default log)`},
		{"[p]=", `route "[p]=": no file after "="`},
		{`"[p]`, `route "\"[p]": the quoted prefix has no closing quote`},
		{`"[p]"x.log`, `route "\"[p]\"x.log": "=" or "+=" must follow the quoted prefix`},
		{`"\q"=x`, `route "\"\\q\"=x": bad quoted prefix "\q" (a Go string literal)`},
		{`"a\nb"=x`, `route "\"a\\nb\"=x": a prefix cannot hold a newline or NUL (no log line does)`},
		{"p=syslog:", `route "p=syslog:": no socket after "syslog:"`},
	} {
		_, err := ParseRoute(c.in)
		if err == nil || err.Error() != c.msg {
			t.Errorf("ParseRoute(%q): %v; want %s", c.in, err, c.msg)
		}
	}
}

func TestParseRotate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Rotate
		str  string
	}{
		{"daily,keep=30,compress", Rotate{Daily: true, Keep: 30, Compress: true}, "daily,keep=30,compress"},
		{"daily", Rotate{Daily: true, Keep: 30}, "daily,keep=30"},
		{"size=100M, daily ,compress,delaycompress", Rotate{Daily: true, Size: 100 << 20, Keep: 30, Compress: true, DelayCompress: true}, "daily,size=100M,keep=30,compress,delaycompress"},
		{"size=100", Rotate{Size: 100, Keep: 30}, "size=100,keep=30"},
		{"size=2048,keep=1", Rotate{Size: 2048, Keep: 1}, "size=2k,keep=1"},
		{"size=1g", Rotate{Size: 1 << 30, Keep: 30}, "size=1G,keep=30"},
		{"size=5K", Rotate{Size: 5 << 10, Keep: 30}, "size=5k,keep=30"},
	} {
		got, err := ParseRotate(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseRotate(%q) = %+v (%s), %v; want %+v (%s)", c.in, got, got.String(), err, c.want, c.str)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "empty rotation policy: want e.g. 'daily,keep=30,compress'"},
		{"weekly", `rotation "weekly": unknown word "weekly" (want daily, size=N, keep=N, compress, delaycompress)`},
		{"compress", `rotation "compress": say when to rotate: daily, size=N or both`},
		{"daily,daily", `rotation "daily,daily": daily given twice`},
		{"daily,size", `rotation "daily,size": size needs a value (size=N)`},
		{"daily=1", `rotation "daily=1": daily takes no value`},
		{"size=0", `rotation "size=0": size "0": want a positive number of bytes, with k, M or G after it`},
		{"size=10T", `rotation "size=10T": size "10T": want a positive number of bytes, with k, M or G after it`},
		{"size=99999999999G", `rotation "size=99999999999G": size "99999999999G": too big`},
		{"daily,keep=0", `rotation "daily,keep=0": keep "0": want a count of rotated files from 1 to 100000`},
		{"daily,,compress", `rotation "daily,,compress": empty word`},
		{"daily,delaycompress", `rotation "daily,delaycompress": delaycompress delays compress, which is not given`},
	} {
		_, err := ParseRotate(c.in)
		if err == nil || err.Error() != c.msg {
			t.Errorf("ParseRotate(%q): %v; want %s", c.in, err, c.msg)
		}
	}
}

// Whatever ParseRoute accepts, its String form reads back the same; an
// accepted prefix never holds what no log line holds.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"[plantegg]=/var/log/plantegg.log", `"IN=eth1 "+=x`, "TRACE: +=-", "a=syslog:/dev/log", `"\x00"=x`, "=", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoute(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "route ") {
				t.Fatalf("%q: error %q", s, err)
			}
			return
		}
		if r.Prefix == "" || r.Target == "" || strings.ContainsAny(r.Prefix, "\n\x00") {
			t.Fatalf("%q accepted as %+v", s, r)
		}
		back, err := ParseRoute(r.String())
		if err != nil || back != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, r.String(), back, err)
		}
	})
}

// Whatever ParseRotate accepts says when to rotate and reads back the
// same from its String form.
func FuzzParseRotate(f *testing.F) {
	for _, s := range []string{"daily,size=100M,keep=30,compress", "daily,delaycompress,compress", "size=1k", "keep=5", "size=9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRotate(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rotation ") && !strings.HasPrefix(err.Error(), "empty rotation") {
				t.Fatalf("%q: error %q", s, err)
			}
			return
		}
		if !r.Daily && r.Size <= 0 || r.Keep < 1 || r.DelayCompress && !r.Compress {
			t.Fatalf("%q accepted as %+v", s, r)
		}
		back, err := ParseRotate(r.String())
		if err != nil || back != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, r.String(), back, err)
		}
	})
}
