package kerneldiff

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfgo/nfgo/tools/trace"
)

// Seed article 002: a LOG rule in every table an incoming SSH SYN
// crosses, and TRACE. `nfgo trace --format kernel`, given the router's
// capture and its `ip -j addr/route show`, must print exactly the TRACE
// and LOG lines the router's kernel printed, in the same order.
var seed002 = &Scenario{
	Name: "seed-002-trace-tool",
	Rules: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -j TRACE
-A PREROUTING -p tcp -m tcp --dport 22 -m limit --limit 100/min -j LOG --log-prefix "raw-prerouting-ssh-in: " --log-level 7
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "mangle-prerouting-ssh-in: " --log-level 7
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "mangle-input-ssh-in: " --log-level 7
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "nat-prerouting-ssh-in: " --log-level 7
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "filter-input-ssh-in: " --log-level 7
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m limit --limit 100/min -j LOG --log-prefix "security-input-ssh-in: " --log-level 7
COMMIT
`,
	Traffic: func(t *testing.T, tp *Topo) {
		Send(t, tp.C, syn(tp, tp.ClientIP, tp.RouterIn, 40000, 22))
	},
}

func TestKernelTraceTool(t *testing.T) {
	tp := NewTopo(t)
	Score(t, "trace-tool-pcap")
	k, frames := RunKernel(t, tp, seed002)
	dir := t.TempDir()
	// The frames arriving on r0, as tcpdump -i r0 would keep them.
	f, err := os.Create(filepath.Join(dir, "r0.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, fr := range frames {
		if fr.iface == "r0" && fmtMAC(fr.data[6:12]) != tp.MACr0 {
			w.WritePacket(gopacket.CaptureInfo{Timestamp: fr.ts, CaptureLength: len(fr.data), Length: len(fr.data)}, fr.data)
		}
	}
	f.Close()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	rulesFile := write("rules", seed002.Rules)
	hostFile := write("addr.json", tp.R.MustRun(t, "ip", "-j", "addr", "show"))
	routesFile := write("route.json", tp.R.MustRun(t, "ip", "-j", "route", "show"))
	var out, errb bytes.Buffer
	code := trace.Main([]string{"--rules", rulesFile, "--host", hostFile, "--routes", routesFile,
		"--format", "kernel", "--pcap", filepath.Join(dir, "r0.pcap"), "--in", "r0"},
		&trace.Env{Stdout: &out, Stderr: &errb})
	if code != 0 {
		t.Fatalf("nfgo trace: exit %d: %s", code, errb.String())
	}
	got := strings.TrimRight(out.String(), "\n")
	want := strings.Join(k.All, "\n")
	if got != want {
		t.Fatalf("nfgo trace --format kernel differs from the kernel\nkernel:\n%s\nnfgo:\n%s", want, got)
	}
	t.Logf("nfgo trace --format kernel printed the kernel's %d lines exactly:\n%s", len(k.All), got)
}
