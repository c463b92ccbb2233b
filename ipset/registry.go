package ipset

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Error is a failed command: Status 1 (kernel refusals, syntax errors) or
// 2 (parameter problems: the tool adds "Try `ipset help' ...").
type Error struct {
	Msg    string
	Status int
	Plain  bool // printed without the "ipset v7.17: " prefix (test results)
	NoLine bool // the tool's own check: a restore prints it without "Error in line N: "
	// LineMsg, when set, is what a restore prints after "Error in line
	// N: " (each numbered report replaces the ones before it).
	LineMsg string
	// Sent: the line failed in ipset_cmd, past the parse, which first
	// sends the restore's pending add/del lines.
	Sent bool
}

func (e *Error) Error() string { return e.Msg }

func kerr(m string) *Error              { return &Error{Msg: m, Status: 1} }
func kerrf(f string, a ...any) *Error   { return kerr(fmt.Sprintf(f, a...)) }
func perrf(f string, a ...any) *Error   { return &Error{Msg: fmt.Sprintf(f, a...), Status: 2} }
func syntaxf(f string, a ...any) *Error { return kerr("Syntax error: " + fmt.Sprintf(f, a...)) }

var errNoSet = kerr("The set with the given name does not exist")

// Registry is the table of sets by name, in the kernel's index order (a new
// set takes the first free index).
type Registry struct {
	mu    sync.Mutex
	sets  []*Set
	Clock func() int64 // Unix ns; nil = time.Now

	loading bool // reading a state file: sets keep their recorded index
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) now() int64 {
	if r.Clock != nil {
		return r.Clock()
	}
	return time.Now().UnixNano()
}

// Lock / Unlock serialise users of the registry (commands, rule binding).
func (r *Registry) Lock()   { r.mu.Lock() }
func (r *Registry) Unlock() { r.mu.Unlock() }

// Get returns the set of that name, or nil.
func (r *Registry) Get(name string) *Set {
	for _, s := range r.sets {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

// Sets returns the sets in list order.
func (r *Registry) Sets() []*Set {
	var out []*Set
	for _, s := range r.sets {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Ref takes a reference on a set (a rule's set match or SET target);
// a referenced set cannot be destroyed.
func (r *Registry) Ref(name string) (*Set, error) {
	s := r.Get(name)
	if s == nil {
		return nil, errNoSet
	}
	s.Refs++
	return s, nil
}

// Unref drops a reference.
func (r *Registry) Unref(s *Set) {
	if s.Refs > 0 {
		s.Refs--
	}
}

func sameSet(a, b *Set) bool {
	sameMask := true // (the other hash types' same_set have no mask, nor family, to compare)
	switch a.Type {
	case TypeBitmapIP:
		sameMask = a.netmask() == b.netmask()
	case TypeHashIP, TypeHashIPPort:
		// mtype_same_set compares the bitmask, which a netmask also sets
		sameMask = a.hostMaskBytes() == b.hostMaskBytes()
	}
	return a.Type == b.Type && a.Opts.Maxelem == b.Opts.Maxelem && a.Opts.Timeout == b.Opts.Timeout &&
		a.Opts.HasTimeout == b.Opts.HasTimeout && sameMask &&
		a.Opts.Counters == b.Opts.Counters && a.Opts.Comment == b.Opts.Comment &&
		a.Opts.SkbInfo == b.Opts.SkbInfo && // not forceadd: a flag, not an extension
		a.Opts.PortFrom == b.Opts.PortFrom && a.Opts.PortTo == b.Opts.PortTo &&
		a.Opts.IPFrom == b.Opts.IPFrom && a.Opts.IPTo == b.Opts.IPTo && a.Opts.Size == b.Opts.Size
}

// Set type features (IPSET_TYPE_*): sets swap only when their types'
// features and families agree (so hash:ip and bitmap:ip swap).
const (
	featIP      = 1 << 0
	featPort    = 1 << 1
	featMAC     = 1 << 2
	featIP2     = 1 << 3
	featName    = 1 << 4
	featIface   = 1 << 5
	featNomatch = 1 << 7
)

func (s *Set) features() int {
	switch s.Type {
	case TypeHashIP, TypeBitmapIP:
		return featIP
	case TypeHashNet:
		return featIP | featNomatch
	case TypeHashIPPort:
		return featIP | featPort
	case TypeHashNetPort:
		return featIP | featPort | featNomatch
	case TypeHashIPPortIP:
		return featIP | featPort | featIP2
	case TypeHashIPPortNet:
		return featIP | featPort | featIP2 | featNomatch
	case TypeBitmapPort:
		return featPort
	case TypeListSet:
		return featName
	case TypeBitmapIPMAC:
		return featIP | featMAC
	case TypeHashNetIface:
		return featIP | featIface | featNomatch
	case TypeHashMAC:
		return featMAC
	}
	return 0
}

// family is the kernel's set->family: inet, or unspec for the
// family-neutral types.
func (s *Set) family() string {
	if s.Type == TypeBitmapPort || s.Type == TypeListSet || s.Type == TypeHashMAC {
		return "unspec"
	}
	return s.Opts.Family
}

// Create adds a set; with exist, an identical existing set is not an error.
func (r *Registry) Create(name, typ string, o Options, exist bool) (*Set, error) {
	if o.Hashsize == 0 {
		o.Hashsize = defaultHashsize
	}
	if o.Maxelem == 0 && !o.HasMaxelem {
		o.Maxelem = defaultMaxelem
	}
	if o.BucketSize == 0 {
		o.BucketSize = ahashMaxSize
	}
	if o.BucketSize < ahashInitSize {
		o.BucketSize = ahashInitSize
	} else if o.BucketSize > ahashMaxSize && !r.loading {
		// a state file keeps the width hash:net,iface grew to
		o.BucketSize = ahashMaxSize
	} else if o.BucketSize%2 != 0 {
		o.BucketSize++
	}
	if !o.HasInitVal {
		o.InitVal = rand.Uint32()
	}
	if o.Family == "" {
		o.Family = "inet"
	}
	if typ == TypeListSet {
		if o.Size == 0 && !o.HasSize {
			o.Size = listDefaultSize
		}
		if o.Size < listMinSize {
			o.Size = listMinSize
		}
	}
	if hashBits(o.Hashsize) > maxHtableBits {
		return nil, kerr("Kernel error received: Cannot allocate memory")
	}
	s := newSet(name, typ, o, r.now)
	s.reg = r
	if old := r.Get(name); old != nil {
		if exist && sameSet(old, s) {
			return old, nil
		}
		return nil, kerr("Set cannot be created: set with the same name already exists")
	}
	for i, x := range r.sets {
		if x == nil && !r.loading {
			r.sets[i] = s
			return s, nil
		}
	}
	r.sets = append(r.sets, s)
	return s, nil
}

// Destroy removes a set, or all sets when name is "".
func (r *Registry) Destroy(name string) error {
	if name == "" {
		for _, s := range r.sets {
			if s != nil && s.Refs > 0 {
				return kerr("Set cannot be destroyed: it is in use by a kernel component")
			}
		}
		r.sets = nil
		return nil
	}
	for i, s := range r.sets {
		if s != nil && s.Name == name {
			if s.Refs > 0 {
				return kerr("Set cannot be destroyed: it is in use by a kernel component")
			}
			if s.isList() {
				s.listFlush() // list_set_cancel_gc: the members' references go
			}
			r.sets[i] = nil
			for len(r.sets) > 0 && r.sets[len(r.sets)-1] == nil {
				r.sets = r.sets[:len(r.sets)-1]
			}
			return nil
		}
	}
	return errNoSet
}

// Flush empties a set, or all sets when name is "".
func (r *Registry) Flush(name string) error {
	if name == "" {
		for _, s := range r.Sets() {
			s.Flush()
		}
		return nil
	}
	s := r.Get(name)
	if s == nil {
		return errNoSet
	}
	s.Flush()
	return nil
}

// Rename renames a set.
func (r *Registry) Rename(from, to string) error {
	s := r.Get(from)
	if s == nil {
		return errNoSet
	}
	if r.Get(to) != nil {
		return kerr("Set cannot be renamed: a set with the new name already exists")
	}
	if s.Refs > 0 {
		return kerr("Set cannot be renamed: it is in use by another system")
	}
	s.Name = to
	return nil
}

// Swap exchanges the contents of two sets; names and references stay.
func (r *Registry) Swap(from, to string) error {
	a := r.Get(from)
	if a == nil {
		return errNoSet
	}
	b := r.Get(to)
	if b == nil {
		return kerr("Sets cannot be swapped: the second set does not exist")
	}
	if a.features() != b.features() || a.family() != b.family() {
		return kerr("The sets cannot be swapped: their type does not match")
	}
	if a == b {
		return nil
	}
	// Each set keeps its packet-path lock, held while the contents move.
	la, lb := a.pmu, b.pmu
	la.Lock()
	lb.Lock()
	defer la.Unlock()
	defer lb.Unlock()
	an, ar, bn, br := a.Name, a.Refs, b.Name, b.Refs
	*a, *b = *b, *a
	a.Name, a.Refs, b.Name, b.Refs = an, ar, bn, br
	a.pmu, b.pmu = la, lb
	return nil
}
