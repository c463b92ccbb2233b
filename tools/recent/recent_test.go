package recent

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/netfilter"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

func run(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Main(args, &Env{Stdout: &out, Stderr: &errb, Now: func() int64 { return 1_700_000_100 * 1e9 }})
	return out.String(), errb.String(), code
}

// The seed's SSH recipe fills the list; the command shows it as
// /proc/net/xt_recent/SSH does and changes it as writes to that file do.
func TestRecentCommand(t *testing.T) {
	xt.ResetStatefulTables()
	rs := rules.NewRuleset(xt.FamilyIPv4)
	if _, err := rules.Restore(rs, strings.NewReader(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name SSH --mask 255.255.255.255 --rsource
COMMIT
`), rules.RestoreOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	eng, err := netfilter.New(rs)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		p := &xt.Pkt{Time: 1_700_000_000*1e9 + int64(i)*1e9}
		p.Decode(packet.Build(&packet.Spec{Src: 0x0a000001, Dst: 0x0a000002, Proto: packet.ProtoTCP, SrcPort: 40000 + uint16(i), DstPort: 22, TCPFlags: packet.TCPSyn}))
		eng.Snapshot().Hook(xt.HookLocalIn, p)
	}
	if out, _, code := run(); code != 0 || out != "SSH\n" {
		t.Fatalf("names: %d %q", code, out)
	}
	out, _, code := run("SSH")
	want := []string{"src=10.0.0.1 ttl: 64 last_seen: ", " oldest_pkt: 2 ", ", "}
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, want[0]) || !strings.Contains(out, want[1]) || !strings.Contains(out, want[2]) {
		t.Fatalf("list: %d %q", code, out)
	}
	if _, e, code := run("SSH", "+10.0.0.9"); code != 0 || e != "" {
		t.Fatalf("+addr: %d %q", code, e)
	}
	if _, e, code := run("SSH", "-10.0.0.1"); code != 0 || e != "" {
		t.Fatalf("-addr: %d %q", code, e)
	}
	if out, _, _ := run("SSH"); !strings.HasPrefix(out, "src=10.0.0.9 ttl: 0 last_seen: ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("after the writes: %q", out)
	}
	if _, e, code := run("SSH", "10.0.0.9"); code != 1 || e != "nfgo recent: /proc/net/xt_recent/SSH: write error: Invalid argument\n" {
		t.Fatalf("bad write: %d %q", code, e)
	}
	if _, e, code := run("NOPE"); code != 1 || e != "nfgo recent: /proc/net/xt_recent/NOPE: No such file or directory\n" {
		t.Fatalf("missing list: %d %q", code, e)
	}
	if _, _, code := run("SSH", "/"); code != 0 {
		t.Fatal("flush failed")
	}
	if out, _, _ := run("SSH"); out != "" {
		t.Fatalf("after /: %q", out)
	}
	if _, _, code := run("a", "b", "c"); code != 2 {
		t.Fatal("usage error not reported")
	}
}
