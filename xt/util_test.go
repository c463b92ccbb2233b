package xt

import "testing"

func TestParseIPv4Multiple(t *testing.T) {
	ResolveHost = func(string) []IPv4 { return nil }
	cases := map[string]string{
		"1.2.3.4":                "1.2.3.4/32",
		"10.11.12.13/8":          "10.0.0.0/8",
		"10.11.12.13/0":          "0.0.0.0/0",
		"10.11.12.13/255.0.12.0": "10.0.12.0/255.0.12.0",
		"10.1/16":                "10.1.0.0/16",
		"010.1.1.1":              "8.1.1.1/32",
		"1.2.3.4/08":             "error", // strtoul reads "08" as octal and stops at 8
		"010.1.1.1/010":          "8.0.0.0/8",
		"1.2.3.4/":               "error",
		"1.2.3.4/33":             "error",
		"1.2.3.400":              "error",
	}
	for in, want := range cases {
		got := "error"
		if ams, err := ParseIPv4Multiple(in); err == nil {
			got = ams[0].Addr.String() + "/" + MaskString(ams[0].Mask)
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
