package iptables

import (
	"strings"
	"testing"
)

// An icmp code range survives the rule store: iptables-save prints only
// its first code, the store keeps it whole (xt.StoreSaver), so -L after
// -A shows what iptables-legacy 1.8.9 shows for the kernel's rule, while
// -S keeps iptables-save's lossy form.
func TestICMPCodeRangeThroughStore(t *testing.T) {
	dir := t.TempDir()
	rules := [][]string{
		{"-p", "icmp", "--icmp-type", "3/1:5"},
		{"-p", "icmp", "!", "--icmp-type", "3/0:5"},
		{"-p", "icmp", "--icmp-type", "3/5:1"},
		{"-p", "icmp", "--icmp-type", "3/7:255"},
		{"-p", "icmp", "--icmp-type", "3/0:0"},
		{"-p", "icmp", "--icmp-type", "0x3/0x1:0x2"},
	}
	for _, r := range rules {
		if code, _, e := run(t, dir, Main, "", append([]string{"-A", "INPUT"}, r...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", r, code, e)
		}
	}
	// iptables-legacy 1.8.9's output for the same rules.
	wantL := `Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
           icmp --  anywhere             anywhere             icmptype 3 codes 1-5
           icmp --  anywhere             anywhere             icmp !type 3 codes 0-5
           icmp --  anywhere             anywhere             icmptype 3 codes 5-1
           icmp --  anywhere             anywhere             icmptype 3 codes 7-255
           icmp --  anywhere             anywhere             icmp network-unreachable
           icmp --  anywhere             anywhere             icmptype 3 codes 1-2
`
	wantN := `Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
           1    --  0.0.0.0/0            0.0.0.0/0            icmptype 3 codes 1-5
           1    --  0.0.0.0/0            0.0.0.0/0            icmp !type 3 codes 0-5
           1    --  0.0.0.0/0            0.0.0.0/0            icmptype 3 codes 5-1
           1    --  0.0.0.0/0            0.0.0.0/0            icmptype 3 codes 7-255
           1    --  0.0.0.0/0            0.0.0.0/0            icmptype 3 code 0
           1    --  0.0.0.0/0            0.0.0.0/0            icmptype 3 codes 1-2
`
	wantS := `-P INPUT ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 3/1
-A INPUT -p icmp -m icmp ! --icmp-type 3/0
-A INPUT -p icmp -m icmp --icmp-type 3/5
-A INPUT -p icmp -m icmp --icmp-type 3/7
-A INPUT -p icmp -m icmp --icmp-type 3/0
-A INPUT -p icmp -m icmp --icmp-type 3/1
`
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-L", "INPUT"}, wantL},
		{[]string{"-L", "INPUT", "-n"}, wantN},
		{[]string{"-S", "INPUT"}, wantS},
	} {
		code, out, e := run(t, dir, Main, "", tc.args...)
		if code != 0 || out != tc.want {
			t.Errorf("%s: exit %d %s\ngot:\n%s\nwant:\n%s", strings.Join(tc.args, " "), code, e, out, tc.want)
		}
	}
}
