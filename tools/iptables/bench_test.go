package iptables

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GenRestoreFile writes an iptables-restore file of n rules spread over
// user chains, using the standard match, tcp and plain verdicts, so the
// same file loads into the kernel for the side-by-side measurement
// (scripts/bench-restore.sh).
func GenRestoreFile(n int) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	const chains = 100
	for c := 0; c < chains; c++ {
		fmt.Fprintf(&b, ":c%03d - [0:0]\n", c)
	}
	for c := 0; c < chains; c++ {
		fmt.Fprintf(&b, "-A INPUT -s 10.%d.0.0/16 -j c%03d\n", c, c)
	}
	for i := 0; i < n-chains; i++ {
		c := i % chains
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "-A c%03d -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -j ACCEPT\n", c, c, (i/256)%256, i%256, 1+i%65535)
		case 1:
			fmt.Fprintf(&b, "-A c%03d -d 192.168.%d.0/24 -i eth%d -p tcp -m tcp --sport 1024:65535 --tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n", c, i%256, i%4)
		case 2:
			fmt.Fprintf(&b, "-A c%03d ! -s 172.16.%d.%d/32 -o eth+ -p tcp -m tcp ! --dport %d -j RETURN\n", c, (i/256)%256, i%256, 1+i%1000)
		default:
			fmt.Fprintf(&b, "-A c%03d -s 10.%d.%d.0/24 -d 10.%d.0.1/32 -p udp -j ACCEPT\n", c, c, i%256, c)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// BenchmarkRestore100k restores a 100,000-rule file into an empty store
// (parse, kernel checks, atomic write of the store), as
// "iptables-restore < file" does.
func BenchmarkRestore100k(b *testing.B) {
	data := GenRestoreFile(100000)
	if os.Getenv("NFGO_BENCH_WRITE") != "" {
		os.WriteFile(os.Getenv("NFGO_BENCH_WRITE"), []byte(data), 0o644)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		var errb bytes.Buffer
		env := &Env{Stdin: strings.NewReader(data), Stdout: io.Discard, Stderr: &errb, StateDir: dir}
		if code := RestoreMain(nil, env); code != 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
		if i == 0 {
			st, _ := os.Stat(filepath.Join(dir, "rules.v4"))
			if st == nil || st.Size() == 0 {
				b.Fatal("store not written")
			}
		}
	}
}
