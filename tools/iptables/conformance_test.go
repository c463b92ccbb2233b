package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/xt"
)

// The upstream iptables extension test vectors (iptables-test.py's *.t
// files) live in ../shared/conformance/iptables-t beside the repository;
// they are read at test time, never copied here.
func conformanceDir() string {
	if d := os.Getenv("NFGO_CONFORMANCE_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "conformance", "iptables-t")
}

// shellSplit splits a command line as sh would (quotes and backslashes; no
// expansions), enough for the .t files.
func shellSplit(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				cur.WriteString(s[i+1:])
				i = len(s)
			} else {
				cur.WriteString(s[i+1 : i+1+j])
				i += j + 1
			}
		case c == '"':
			in = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case c == ' ' || c == '\t':
			if in || cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
		}
	}
	if in || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// extOfFile names the extension a .t file tests ("" for iptables.t, the
// standard match).
func extOfFile(name string) string {
	base := strings.TrimSuffix(name, ".t")
	for _, p := range []string{"libxt_", "libipt_", "libip6t_"} {
		if strings.HasPrefix(base, p) {
			return strings.TrimPrefix(base, p)
		}
	}
	return ""
}

func extSupported(name string) bool {
	switch name {
	case "", "standard":
		return true
	}
	return xt.LookupMatch(name, xt.FamilyIPv4) != nil || xt.LookupTarget(name) != nil
}

type tResult struct {
	file                    string
	passed, failed, skipped int
	unsupportedFile         bool
	failures                []string
}

func runCmd(t *testing.T, dir string, args []string) (int, string, string) {
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, StateDir: dir}
	code := Main(args, env)
	return code, out.String(), errb.String()
}

func saveText(t *testing.T, dir string) string {
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, StateDir: dir}
	SaveMain(nil, env)
	return out.String()
}

func variantRes(res, variant, alt string) string {
	if variant == "LEGACY" {
		return res
	}
	if alt != "" {
		return alt
	}
	switch res {
	case "OK":
		return "FAIL"
	case "FAIL":
		return "OK"
	case "NOMATCH":
		return "OK"
	}
	return res
}

// runTFile runs one .t file as iptables-test.py does for the legacy
// backend, against nfgo's iptables in a fresh state directory.
func runTFile(t *testing.T, path string) tResult {
	res := tResult{file: filepath.Base(path)}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	table := ""
	var chains []string
	sc := bufio.NewScanner(f)
	lineno := 0
	for sc.Scan() {
		lineno++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		switch line[0] {
		case ':':
			chains = strings.Split(strings.TrimRight(line[1:], " \t\r"), ",")
			continue
		case '*':
			table = strings.TrimRight(line[1:], " \t\r")
			continue
		case '@', '%':
			cmd := shellSplit(strings.TrimSpace(line[1:]))
			if len(cmd) > 0 && cmd[0] == "iptables" {
				runCmd(t, dir, cmd[1:])
			}
			continue
		}
		item := strings.Split(line, ";")
		if len(item) < 3 {
			res.failures = append(res.failures, fmt.Sprintf("line %d: malformed", lineno))
			res.failed++
			continue
		}
		want := strings.TrimRight(item[2], " \t\r")
		if len(item) > 3 {
			alt := ""
			if len(item) > 4 {
				alt = strings.TrimRight(item[4], " \t\r")
			}
			want = variantRes(want, strings.TrimRight(item[3], " \t\r"), alt)
		}
		ok := true
		unsupported := false
		var why string
		for _, chain := range chains {
			rule := chain + " " + item[0]
			if table != "" {
				rule = chain + " -t " + table + " " + item[0]
			}
			ruleSave := chain + " " + item[0]
			if item[1] != "=" {
				ruleSave = chain + " " + item[1]
			}
			args := append([]string{"-A"}, shellSplit(rule)...)
			code, _, stderr := runCmd(t, dir, args)
			if code != 0 {
				if strings.Contains(stderr, "not supported by nfgo") {
					unsupported = true
					break
				}
				if want != "FAIL" {
					ok, why = false, fmt.Sprintf("cannot load (exit %d: %s): iptables -A %s", code, strings.TrimSpace(stderr), rule)
				}
				if !ok {
					break
				}
				continue
			}
			if want == "FAIL" {
				ok, why = false, "should fail: iptables -A "+rule
				runCmd(t, dir, append([]string{"-D"}, shellSplit(rule)...))
				break
			}
			saved := saveText(t, dir)
			found := strings.Contains(saved, "\n-A "+ruleSave+"\n")
			if !found {
				if want == "OK" {
					ok, why = false, fmt.Sprintf("cannot find: -A %s\n  in:\n%s", ruleSave, saved)
					runCmd(t, dir, append([]string{"-D"}, shellSplit(rule)...))
					break
				}
				continue
			}
			if want != "OK" {
				ok, why = false, "should not match: "+rule
				runCmd(t, dir, append([]string{"-D"}, shellSplit(rule)...))
				break
			}
			if code, _, stderr := runCmd(t, dir, append([]string{"-D"}, delArgs(shellSplit(rule))...)); code != 0 {
				ok, why = false, fmt.Sprintf("cannot delete (exit %d: %s): iptables -D %s", code, strings.TrimSpace(stderr), rule)
				break
			}
		}
		switch {
		case unsupported:
			res.skipped++
		case ok:
			res.passed++
		default:
			res.failed++
			res.failures = append(res.failures, fmt.Sprintf("line %d: %s", lineno, why))
		}
	}
	return res
}

// delArgs drops -c/--set-counters and its values, as iptables-test.py does
// before -D.
func delArgs(a []string) []string {
	out := append([]string(nil), a...)
	for i := 0; i < len(out); i++ {
		if out[i] == "-c" || out[i] == "--set-counters" {
			v := out[i+1]
			out = append(out[:i], out[i+1:]...)
			out = append(out[:i], out[i+1:]...)
			if !strings.Contains(v, ",") && i < len(out) && isNumeric(out[i]) {
				out = append(out[:i], out[i+1:]...)
			}
			break
		}
	}
	return out
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TestConformance runs every IPv4 .t file. Files of extensions nfgo does
// not support are reported as skipped; any failure in a supported file
// fails the test. The table printed at the end is the scoreboard.
func TestConformance(t *testing.T) {
	dir := conformanceDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*.t"))
	if len(files) == 0 {
		t.Skipf("conformance vectors not found in %s (set NFGO_CONFORMANCE_DIR)", dir)
	}
	sort.Strings(files)
	var results []tResult
	for _, path := range files {
		name := filepath.Base(path)
		if strings.HasPrefix(name, "libip6t_") || !(name == "iptables.t" || strings.HasPrefix(name, "libipt_") || strings.HasPrefix(name, "libxt_")) {
			continue
		}
		ext := extOfFile(name)
		if !extSupported(ext) {
			results = append(results, tResult{file: name, unsupportedFile: true})
			continue
		}
		t.Run(strings.TrimSuffix(name, ".t"), func(t *testing.T) {
			r := runTFile(t, path)
			results = append(results, r)
			for _, f := range r.failures {
				t.Errorf("%s %s", name, f)
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %7s %7s %9s\n", "file", "passed", "failed", "skipped")
	var tp, tf, ts, uf int
	for _, r := range results {
		if r.unsupportedFile {
			uf++
			fmt.Fprintf(&b, "%-28s %7s %7s %9s\n", r.file, "-", "-", "unsupported")
			continue
		}
		tp += r.passed
		tf += r.failed
		ts += r.skipped
		fmt.Fprintf(&b, "%-28s %7d %7d %9d\n", r.file, r.passed, r.failed, r.skipped)
	}
	fmt.Fprintf(&b, "%-28s %7d %7d %9d   (%d files unsupported)\n", "TOTAL", tp, tf, ts, uf)
	t.Log("\n" + b.String())
}
