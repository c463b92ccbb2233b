// Package recent implements "nfgo recent": the recent match's lists as
// the kernel shows them in /proc/net/xt_recent, and that directory's
// write commands. `nfgo recent NAME` prints what `cat
// /proc/net/xt_recent/NAME` prints; `nfgo recent NAME +ADDR`, `-ADDR` and
// `/` do what `echo +ADDR > /proc/net/xt_recent/NAME` and friends do.
//
// The lists live with the engine that runs the rules (the recent match's
// tables in package xt): a running gateway's, or this process's.
package recent

import (
	"fmt"
	"io"
	"time"

	"github.com/nfgo/nfgo/xt"
)

// Env is the process environment.
type Env struct {
	Stdout, Stderr io.Writer
	// Now is the time of writes (Unix ns); nil = time.Now.
	Now func() int64
}

const usage = `Usage: nfgo recent [NAME [+ADDR | -ADDR | /]]

The recent match's lists, as /proc/net/xt_recent shows them:
  nfgo recent              the lists' names (ls /proc/net/xt_recent)
  nfgo recent NAME         the list (cat /proc/net/xt_recent/NAME)
  nfgo recent NAME +ADDR   add ADDR, or stamp it again (echo +ADDR > ...)
  nfgo recent NAME -ADDR   remove ADDR (echo -ADDR > ...)
  nfgo recent NAME /       empty the list (echo / > ...)
`

// Main runs the command and returns its exit status: 0, 1 when the list
// does not exist or the write is refused (the kernel's ENOENT, EINVAL),
// 2 for a usage error.
func Main(args []string, env *Env) int {
	now := time.Now().UnixNano()
	if env.Now != nil {
		now = env.Now()
	}
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprint(env.Stdout, usage)
		return 0
	case len(args) == 0:
		for _, n := range xt.RecentListNames() {
			fmt.Fprintln(env.Stdout, n)
		}
		return 0
	case len(args) > 2:
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	name := args[0]
	if len(args) == 1 {
		text, ok := xt.RecentProcRead(name)
		if !ok {
			fmt.Fprintf(env.Stderr, "nfgo recent: /proc/net/xt_recent/%s: %v\n", name, xt.ErrRecentNoList)
			return 1
		}
		io.WriteString(env.Stdout, text)
		return 0
	}
	// echo writes the argument and a newline in one write(2).
	data := []byte(args[1] + "\n")
	for len(data) > 0 {
		n, err := xt.RecentProcWrite(name, data, now)
		if err != nil {
			fmt.Fprintf(env.Stderr, "nfgo recent: /proc/net/xt_recent/%s: write error: %v\n", name, err)
			return 1
		}
		if n == 0 {
			break
		}
		// What the kernel did not take, echo writes again.
		data = data[n:]
	}
	return 0
}
