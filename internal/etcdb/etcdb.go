// Package etcdb reads the system's name databases the tools consult as
// the C library does (/etc/protocols, /etc/services): comments from "#"
// removed, entries of at least two fields.
package etcdb

import (
	"bufio"
	"os"
	"strings"
)

// Each calls fn with the fields of every entry of the file at path; a
// missing file has no entries.
func Each(path string, fn func(fields []string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if fs := strings.Fields(line); len(fs) >= 2 {
			fn(fs)
		}
	}
}
