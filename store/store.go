// Package store owns the rule store: the state directory where rulesets
// live when no gateway runs, the xtables-style lock that serialises
// writers, and atomic file replacement (temporary file, fsync, rename).
package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/xt"
)

// Dir returns the state directory: $NFGO_STATE_DIR, else /var/lib/nfgo for
// root, else $XDG_STATE_HOME/nfgo (~/.local/state/nfgo).
func Dir() string {
	if d := os.Getenv("NFGO_STATE_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/nfgo"
	}
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "nfgo")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "nfgo")
}

// Store is one state directory.
type Store struct {
	Dir string
}

// Open returns the store at dir, creating the directory.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) rulesPath(f xt.Family) string {
	if f == xt.FamilyIPv6 {
		return filepath.Join(s.Dir, "rules.v6")
	}
	return filepath.Join(s.Dir, "rules.v4")
}

// Lock is a held xtables lock.
type Lock struct{ f *os.File }

// ErrBusy is returned when the lock is held and waiting is over.
var ErrBusy = errors.New("lock busy")

// Lock takes the store's lock. wait < 0 waits forever, 0 does not wait,
// n > 0 waits n seconds (iptables -w semantics).
func (s *Store) Lock(wait int) (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, "xtables.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if wait == 0 || (wait > 0 && time.Now().After(deadline)) {
			f.Close()
			return nil, ErrBusy
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
	}
}

// Load reads the ruleset of a family; a missing file is an empty ruleset.
func (s *Store) Load(f xt.Family) (*rules.Ruleset, error) {
	data, err := os.ReadFile(s.rulesPath(f))
	if errors.Is(err, os.ErrNotExist) {
		return rules.NewRuleset(f), nil
	}
	if err != nil {
		return nil, err
	}
	rs, err := rules.LoadSaved(f, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.rulesPath(f), err)
	}
	return rs, nil
}

// Save writes the ruleset atomically: a reader of the file sees the old
// content or the new, never a mix.
func (s *Store) Save(rs *rules.Ruleset) error {
	var b bytes.Buffer
	rules.WriteStore(&b, rs)
	return WriteFileAtomic(s.rulesPath(rs.Family), b.Bytes(), 0o600)
}

// WriteFileAtomic writes data to a temporary file in the same directory,
// syncs it and renames it over path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
