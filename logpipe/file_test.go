package logpipe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is the fake clock of the tests: lines get its time, which only
// moves when told.
type clock struct{ t time.Time }

func newClock(s string) *clock {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &clock{t}
}

func (c *clock) add(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

// dirFiles lists the names in dir with their contents (decompressed for
// .gz files, whose gzip header must name the uncompressed file).
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if want := strings.TrimSuffix(e.Name(), ".gz"); zr.Name != want {
				t.Errorf("%s: gzip header names %q", e.Name(), zr.Name)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
		}
		out[e.Name()] = string(b)
	}
	return out
}

func names(m map[string]string) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func mustOpen(t *testing.T, path string, o FileOptions) *File {
	t.Helper()
	f, err := OpenFile(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, s Sink, at time.Time, line string) {
	t.Helper()
	if err := s.WriteLine(at, 4, []byte(line)); err != nil {
		t.Fatal(err)
	}
}

// Seed 000's policy (daily, rotate 30, compress, dateext) over four days
// of lines: one file per day, named by the day of the rotation as
// logrotate names them, the last day's lines in the active file.
func TestDailyRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plantegg.log")
	f := mustOpen(t, p, FileOptions{Rotate: &Rotate{Daily: true, Keep: 30, Compress: true, Location: time.UTC}})
	c := newClock("2026-11-20T10:00:00Z")
	for day := 0; day < 4; day++ {
		for i := 0; i < 3; i++ {
			write(t, f, c.t, fmt.Sprintf("[plantegg] day%d line%d", day, i))
			c.add(5 * time.Hour) // 10h, 15h, 20h
		}
		c.add(9 * time.Hour) // next day 10h
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := dirFiles(t, dir)
	want := map[string]string{
		"plantegg.log-20261121.gz": "[plantegg] day0 line0\n[plantegg] day0 line1\n[plantegg] day0 line2\n",
		"plantegg.log-20261122.gz": "[plantegg] day1 line0\n[plantegg] day1 line1\n[plantegg] day1 line2\n",
		"plantegg.log-20261123.gz": "[plantegg] day2 line0\n[plantegg] day2 line1\n[plantegg] day2 line2\n",
		"plantegg.log":             "[plantegg] day3 line0\n[plantegg] day3 line1\n[plantegg] day3 line2\n",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files:\n%v\nwant:\n%v", got, want)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640&^umask() {
		t.Errorf("mode %v", st.Mode())
	}
}

func umask() os.FileMode {
	dir, _ := os.MkdirTemp("", "umask")
	defer os.RemoveAll(dir)
	f, _ := os.OpenFile(filepath.Join(dir, "f"), os.O_CREATE|os.O_WRONLY, 0o777)
	st, _ := f.Stat()
	f.Close()
	return 0o777 &^ st.Mode().Perm()
}

// The day is the rotation's time zone's: 23:30 UTC on the 20th is the
// 21st in Shanghai.
func TestDailyRotationLocation(t *testing.T) {
	dir := t.TempDir()
	sh := time.FixedZone("CST", 8*3600)
	f := mustOpen(t, filepath.Join(dir, "p.log"), FileOptions{Rotate: &Rotate{Daily: true, Location: sh}})
	write(t, f, newClock("2026-11-20T15:00:00Z").t, "a") // 23:00 CST on the 20th
	write(t, f, newClock("2026-11-20T16:30:00Z").t, "b") // 00:30 CST on the 21st
	f.Close()
	if got := names(dirFiles(t, dir)); fmt.Sprint(got) != "[p.log p.log-20261121]" {
		t.Fatalf("%v", got)
	}
}

// Size rotation: no file grows past the size, names carry the Unix
// seconds of the rotation (dateformat -%Y%m%d-%s), and a second rotation
// within one second is skipped, as logrotate skips a rotation whose name
// exists, the lines going on into the active file.
func TestSizeRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.log")
	f := mustOpen(t, p, FileOptions{Rotate: &Rotate{Size: 100, Location: time.UTC}})
	c := newClock("2026-11-23T00:00:00Z") // Unix 1795392000
	var all []string
	for i := 0; i < 10; i++ { // 10 lines of 30 bytes, a second apart
		l := fmt.Sprintf("line %02d %s", i, strings.Repeat("x", 21))
		all = append(all, l)
		write(t, f, c.add(time.Second), l)
	}
	f.Close()
	got := dirFiles(t, dir)
	want := map[string]string{ // rotated before the 4th, 7th and 10th lines
		"p.log-20261123-1795392004": strings.Join(all[0:3], "\n") + "\n",
		"p.log-20261123-1795392007": strings.Join(all[3:6], "\n") + "\n",
		"p.log-20261123-1795392010": strings.Join(all[6:9], "\n") + "\n",
		"p.log":                     all[9] + "\n",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files:\n%q\nwant:\n%q", got, want)
	}

	// Ten lines in one second: one rotation, the rest skipped.
	dir = t.TempDir()
	f = mustOpen(t, filepath.Join(dir, "p.log"), FileOptions{Rotate: &Rotate{Size: 100, Location: time.UTC}})
	for _, l := range all {
		write(t, f, c.t, l)
	}
	f.Close()
	got = dirFiles(t, dir)
	want = map[string]string{
		"p.log-20261123-1795392010": strings.Join(all[0:3], "\n") + "\n",
		"p.log":                     strings.Join(all[3:], "\n") + "\n",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("same second:\n%q\nwant:\n%q", got, want)
	}
}

// keep=3 over ten days: the three newest rotated files are left; with
// delaycompress the newest of them is not compressed yet.
func TestKeepAndDelayCompress(t *testing.T) {
	dir := t.TempDir()
	f := mustOpen(t, filepath.Join(dir, "p.log"), FileOptions{Rotate: &Rotate{Daily: true, Keep: 3, Compress: true, DelayCompress: true, Location: time.UTC}})
	c := newClock("2026-11-01T12:00:00Z")
	for i := 1; i <= 10; i++ {
		write(t, f, c.t, fmt.Sprintf("day %d", i))
		c.add(24 * time.Hour)
	}
	f.Close()
	got := dirFiles(t, dir)
	want := map[string]string{
		"p.log-20261108.gz": "day 7\n",
		"p.log-20261109.gz": "day 8\n",
		"p.log-20261110":    "day 9\n",
		"p.log":             "day 10\n",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files:\n%q\nwant:\n%q", got, want)
	}
}

// Many writers, many rotations by size and by day, compression: every
// line is in exactly one file, and each writer's lines are in order
// across the files taken oldest first.
func TestConcurrentWritersAcrossRotations(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.log")
	f := mustOpen(t, p, FileOptions{Buffered: true, Stamp: StampDmesg,
		Rotate: &Rotate{Daily: true, Size: 4096, Keep: 100000, Compress: true, DelayCompress: true, Location: time.UTC}})
	base := newClock("2026-11-20T00:00:00Z").t
	var tick atomic.Int64
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				// 16000 lines 100ms apart, a day later every 4000.
				n := tick.Add(1)
				at := base.Add(time.Duration(n)*100*time.Millisecond + time.Duration(n/4000)*24*time.Hour)
				if err := f.WriteLine(at, 4, fmt.Appendf(nil, "w%d %06d", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	files := dirFiles(t, dir)
	order := names(files) // rotated files sort in time order
	order = append(order[1:], order[0])
	if order[len(order)-1] != "p.log" {
		t.Fatalf("files %v", order)
	}
	next := make([]int, writers)
	gz := 0
	for _, n := range order {
		if strings.HasSuffix(n, ".gz") {
			gz++
		}
		for _, l := range strings.Split(strings.TrimSuffix(files[n], "\n"), "\n") {
			var w, i int
			if _, err := fmt.Sscanf(l[strings.Index(l, "] ")+2:], "w%d %d", &w, &i); err != nil {
				t.Fatalf("%s: line %q", n, l)
			}
			if i != next[w] {
				t.Fatalf("%s: writer %d line %d, want %d", n, w, i, next[w])
			}
			next[w]++
		}
	}
	for w, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d lines", w, n)
		}
	}
	if len(order) < 20 || gz != len(order)-2 {
		t.Errorf("%d files, %d compressed: %v", len(order), gz, order)
	}
	t.Logf("%d writers x %d lines: %d files", writers, lines, len(order))
}

// A crash mid-rotation leaves a .gz beside the file it was made from
// (complete: it is renamed into place after it is written) or a temporary
// file of a compression that did not end. Opening the log tidies both;
// no line is lost.
func TestCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.log")
	os.WriteFile(p+"-20261120", []byte("day 19\n"), 0o640)
	if err := compressFile(p + "-20261120"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p+"-20261120", []byte("day 19\n"), 0o640) // as if the crash came before the delete
	os.WriteFile(p+"-20261121", []byte("day 20\n"), 0o640)
	os.WriteFile(filepath.Join(dir, ".p.log-20261121.gz.tmp123"), []byte("\x1f\x8b half"), 0o640)
	os.WriteFile(p, []byte("day 21\n"), 0o640)
	os.WriteFile(filepath.Join(dir, "p.log-old"), []byte("not ours\n"), 0o640)
	f := mustOpen(t, p, FileOptions{Rotate: &Rotate{Daily: true, Compress: true}})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := dirFiles(t, dir)
	want := map[string]string{
		"p.log-20261120.gz": "day 19\n",
		"p.log-20261121.gz": "day 20\n",
		"p.log":             "day 21\n",
		"p.log-old":         "not ours\n",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files:\n%q\nwant:\n%q", got, want)
	}
}

// Lines are appended to an existing file, whose day is that of its last
// change; Truncate starts the log anew, but refuses to when rotated files
// of an earlier log are there (nothing is deleted).
func TestAppendAndTruncate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.log")
	os.WriteFile(p, []byte("old\n"), 0o600)
	mt := newClock("2026-11-20T12:00:00Z").t
	os.Chtimes(p, mt, mt)
	os.WriteFile(p+"-20261120.gz", []byte("junk"), 0o600)
	f := mustOpen(t, p, FileOptions{Stamp: StampDmesg, Rotate: &Rotate{Daily: true, Location: time.UTC}})
	write(t, f, time.Unix(1795392000, 123456789), "new") // 2026-11-23
	f.Close()
	b, _ := os.ReadFile(p)
	old, _ := os.ReadFile(p + "-20261123")
	if string(old) != "old\n" || string(b) != "[1795392000.123456] new\n" {
		t.Fatalf("rotated %q, active %q", old, b)
	}
	if _, err := OpenFile(p, FileOptions{Truncate: true, Rotate: &Rotate{Daily: true}}); err == nil || !strings.Contains(err.Error(), "move them away first") {
		t.Fatalf("started anew over rotated files: %v", err)
	}
	if _, err := os.Stat(p + "-20261123"); err != nil {
		t.Fatalf("a rotated file went away: %v", err)
	}
	os.Remove(p + "-20261123")
	os.Remove(p + "-20261120.gz")
	f = mustOpen(t, p, FileOptions{Truncate: true, Rotate: &Rotate{Daily: true}})
	write(t, f, time.Unix(5, 0), "fresh")
	f.Close()
	if got := dirFiles(t, dir); fmt.Sprint(got) != fmt.Sprint(map[string]string{"p.log": "fresh\n"}) {
		t.Fatalf("%q", got)
	}
}

func TestStamps(t *testing.T) {
	var b bytes.Buffer
	at := time.Date(2026, 4, 6, 5, 7, 6, 1500, time.UTC)
	NewWriter(&b, StampNone, "").WriteLine(at, 7, []byte("[plantegg] IN="))
	NewWriter(&b, StampDmesg, "").WriteLine(time.Unix(12, 345678901), 7, []byte("[plantegg] IN="))
	NewWriter(&b, StampTraditional, "vb").WriteLine(at, 7, []byte("[plantegg] IN="))
	want := "[plantegg] IN=\n[   12.345678] [plantegg] IN=\nApr  6 05:07:06 vb kernel: [plantegg] IN=\n"
	if b.String() != want {
		t.Fatalf("%q\nwant %q", b.String(), want)
	}
}

// A bufio-level check that a Buffered file holds nothing back after Close.
func TestBufferedFlushOnClose(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.log")
	f := mustOpen(t, p, FileOptions{Buffered: true})
	for i := 0; i < 10000; i++ {
		write(t, f, time.Unix(int64(i), 0), fmt.Sprint(i))
	}
	f.Close()
	r, _ := os.Open(p)
	defer r.Close()
	sc := bufio.NewScanner(r)
	n := 0
	for ; sc.Scan(); n++ {
		if sc.Text() != fmt.Sprint(n) {
			t.Fatalf("line %d: %q", n, sc.Text())
		}
	}
	if n != 10000 {
		t.Fatalf("%d lines", n)
	}
	if err := f.WriteLine(time.Unix(0, 0), 4, []byte("late")); err == nil {
		t.Fatal("a line written after Close was taken")
	}
}
