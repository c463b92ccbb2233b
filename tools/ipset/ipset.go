// Package ipset implements the ipset command (ipset 7.17 syntax, output,
// messages and exit statuses) over nfgo's set registry, persisted in the
// rule store's state directory as ipset.save.
package ipset

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nfgo/nfgo/internal/setlink"
	sets "github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/store"
	"github.com/nfgo/nfgo/xt"
)

// Env is the process environment a command runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	StateDir       string       // "" = store.Dir()
	Clock          func() int64 // Unix ns; nil = real time
}

const prefix = "ipset v7.17: "

func fail(env *Env, err error, quiet bool) int {
	var e *sets.Error
	if !errors.As(err, &e) {
		io.WriteString(env.Stderr, prefix+err.Error()+"\n")
		return 1
	}
	if e.Plain {
		if !quiet {
			io.WriteString(env.Stderr, e.Msg+"\n")
		}
		return e.Status
	}
	if e.Msg != "" && !(quiet && e.Status == 1) {
		io.WriteString(env.Stderr, prefix+e.Msg+"\n")
		if e.Status == 2 {
			io.WriteString(env.Stderr, "Try `ipset help' for more information.\n")
		}
	}
	return e.Status
}

// Main runs "ipset ARGS..." and returns the exit status.
func Main(args []string, env *Env) int {
	c, err := sets.ParseCommand(args)
	if err != nil {
		return fail(env, err, false)
	}
	switch c.Name {
	case "version":
		io.WriteString(env.Stdout, "ipset v7.17, protocol version: 7\n")
		return 0
	case "help":
		io.WriteString(env.Stdout, helpText)
		return 0
	case "quit":
		return 0
	}
	dir := env.StateDir
	if dir == "" {
		dir = store.Dir()
	}
	st, err := store.Open(dir)
	if err != nil {
		io.WriteString(env.Stderr, prefix+err.Error()+"\n")
		return 1
	}
	lock, err := st.Lock(-1)
	if err != nil {
		io.WriteString(env.Stderr, prefix+err.Error()+"\n")
		return 1
	}
	defer lock.Unlock()
	reg := sets.NewRegistry()
	reg.Clock = env.Clock
	path := filepath.Join(st.Dir, "ipset.save")
	if data, err := os.ReadFile(path); err == nil {
		if err := reg.LoadState(string(data)); err != nil {
			io.WriteString(env.Stderr, prefix+path+": "+err.Error()+"\n")
			return 1
		}
	}
	// The iptables rules that name a set are its references: listed as
	// "References:", and they keep it from being destroyed or renamed.
	xt.LookupSet = func(name string) (xt.Family, bool) {
		if s := reg.Get(name); s != nil {
			if s.Opts.Family == "inet6" {
				return xt.FamilyIPv6, true
			}
			return xt.FamilyIPv4, true
		}
		return 0, false
	}
	if rs, err := st.Load(xt.FamilyIPv4); err == nil {
		for name, n := range setlink.References(rs) {
			for i := 0; i < n; i++ {
				reg.Ref(name)
			}
		}
	}
	var out strings.Builder
	var changed bool
	if c.Name == "restore" {
		var data []byte
		if c.File != "" {
			data, err = os.ReadFile(c.File)
			if err != nil {
				return 255
			}
		} else if env.Stdin != nil {
			data, _ = io.ReadAll(env.Stdin)
		}
		changed, err = reg.Restore(string(data), c.Exist, &out)
	} else {
		changed, err = reg.Exec(c, &out)
	}
	if c.File != "" && c.Name != "restore" && out.Len() > 0 {
		if werr := os.WriteFile(c.File, []byte(out.String()), 0o644); werr != nil {
			io.WriteString(env.Stderr, prefix+werr.Error()+"\n")
			return 1
		}
	} else {
		io.WriteString(env.Stdout, out.String())
	}
	if changed {
		if werr := store.WriteFileAtomic(path, []byte(reg.WriteState()), 0o600); werr != nil {
			io.WriteString(env.Stderr, prefix+werr.Error()+"\n")
			return 1
		}
	}
	if err != nil {
		return fail(env, err, c.Quiet)
	}
	return 0
}
