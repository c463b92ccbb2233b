package rules

import (
	"reflect"
	"testing"
)

// Expected words checked against iptables-legacy-restore's behaviour (a
// closing quote ends the word at once; "" is an empty word).
func TestTokenizeRestoreLine(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"-A INPUT -j ACCEPT\n", []string{"-A", "INPUT", "-j", "ACCEPT"}},
		{"  -A\tX  ", []string{"-A", "X"}},
		{`--comment "a b"x ""` + "\n", []string{"--comment", "a b", "x", ""}},
		{`--log-prefix "q\"uote" y`, []string{"--log-prefix", `q"uote`, "y"}},
		{`ab"c d"e`, []string{"abc d", "e"}},
		{`"unterminated`, []string{"unterminated"}},
		{`"`, nil},
		{"", nil},
	}
	for _, c := range cases {
		got := tokenizeRestoreLine(c.in)
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("tokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
