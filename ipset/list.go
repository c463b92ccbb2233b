package ipset

import (
	"strconv"
	"strings"
	"sync/atomic"
)

// The list:set type (ip_set_list_set.c, ipset_list_set.c): an ordered
// list of other sets (never of list:sets), each holding a reference on
// its member, with the timeout, counters, comment and skbinfo extensions
// per member. Userspace adds, deletes and tests a member by name, with
// "before NAME" / "after NAME" positions; the packet path tries the
// members in order.

// TypeListSet is the list:set type.
const TypeListSet = "list:set"

const (
	listDefaultSize = 8  // IP_SET_LIST_DEFAULT_SIZE
	listMinSize     = 4  // IP_SET_LIST_MIN_SIZE
	listElemLen     = 48 // sizeof(struct set_elem)
	listMapSize     = 80 // sizeof(struct list_set)
)

var (
	errListName    = kerr("Set to be added/deleted/tested as element does not exist.")
	errListLoop    = kerr("Sets with list:set type cannot be added to the set.")
	errListNameRef = kerr("The set to which you referred with 'before' or 'after' does not exist.")
	errListRef     = kerr("The set to which you referred with 'before' or 'after' is not added to the set.")
)

// listElem is one member of a list:set (struct set_elem with its
// extensions).
type listElem struct {
	set     *Set
	expires int64
	packets uint64
	bytes   uint64
	comment string
	skb     SkbInfo
}

// pendingMember is a member named by a state file, resolved once every
// set of the file exists.
type pendingMember struct {
	name    string
	x       Elem
	expires int64
	hasExp  bool
}

func (s *Set) isList() bool { return s.Type == TypeListSet }

func (s *Set) listExpired(e *listElem, now int64) bool {
	return s.Opts.HasTimeout && e.expires != 0 && now > e.expires
}

// listInit is list_set_init_extensions.
func (s *Set) listInit(e *listElem, x *Elem, now int64) {
	if s.Opts.SkbInfo {
		e.skb = x.Skb
	}
	if s.Opts.Counters {
		if x.HasPackets {
			e.packets = x.Packets
		}
		if x.HasBytes {
			e.bytes = x.Bytes
		}
	}
	if s.Opts.Comment {
		s.commentB -= commentCost(e.comment)
		e.comment = ""
		if x.HasComment {
			c := x.Comment
			if len(c) > maxCommentSize {
				c = c[:maxCommentSize]
			}
			e.comment = c
			s.commentB += commentCost(c)
		}
	}
	if s.Opts.HasTimeout {
		t := s.Opts.Timeout
		if x.HasTimeout {
			t = x.Timeout
		}
		e.expires = 0
		if t != 0 {
			e.expires = now + int64(t)*1e9
		}
	}
}

// listRemove drops member i, releasing its reference.
func (s *Set) listRemove(i int) {
	e := &s.list[i]
	if e.set.Refs > 0 {
		e.set.Refs--
	}
	s.commentB -= commentCost(e.comment)
	s.list = append(s.list[:i], s.list[i+1:]...)
}

// listCleanup is set_cleanup_entries: the expired members go.
func (s *Set) listCleanup(now int64) {
	for i := 0; i < len(s.list); {
		if s.listExpired(&s.list[i], now) {
			s.listRemove(i)
			continue
		}
		i++
	}
}

func (s *Set) listFlush() {
	for len(s.list) > 0 {
		s.listRemove(len(s.list) - 1)
	}
	s.commentB = 0
}

// listResolve is list_set_uadt's lookups: the member set (which must
// exist and not be a list:set) and the reference set of before/after.
func (s *Set) listResolve(e *elemSpec) (m, ref *Set, err error) {
	if s.reg != nil {
		m = s.reg.Get(e.name)
	}
	if m == nil {
		return nil, nil, errListName
	}
	if m.isList() {
		return nil, nil, errListLoop
	}
	if e.hasRef {
		if s.reg != nil {
			ref = s.reg.Get(e.ref)
		}
		if ref == nil {
			return nil, nil, errListNameRef
		}
	}
	return m, ref, nil
}

// before is the kernel's d->before: 1 before the reference, -1 after it,
// 0 without one.
func (e *elemSpec) before() int {
	switch {
	case !e.hasRef:
		return 0
	case e.refBefore:
		return 1
	}
	return -1
}

// listAdt is list_set_uadd / list_set_udel.
func (s *Set) listAdt(cmd string, e *elemSpec, exist bool) error {
	m, ref, err := s.listResolve(e)
	if err != nil {
		return err
	}
	now := s.now()
	if s.Opts.HasTimeout {
		s.listCleanup(now)
	}
	switch cmd {
	case "add":
		err = s.listAdd(m, ref, e.before(), &e.x, exist, now)
		if err == nil && e.hasExp {
			for i := range s.list {
				if s.list[i].set == m {
					s.list[i].expires = e.expires
				}
			}
		}
	case "del":
		err = s.listDel(m, ref, e.before())
	}
	if exist && (err == errExist || err == errNotExist) {
		return nil
	}
	return err
}

func (s *Set) listAdd(m, ref *Set, before int, x *Elem, exist bool, now int64) error {
	have, at := -1, -1
	for i := range s.list {
		l := &s.list[i]
		switch {
		case s.listExpired(l, now):
		case l.set == m:
			have = i
		case before != 0 && l.set == ref:
			at = i
		}
	}
	if before != 0 && at < 0 {
		return errListRef
	}
	if have >= 0 {
		if !exist {
			return errExist
		}
		s.listInit(&s.list[have], x, now)
		return nil
	}
	n := listElem{set: m}
	s.listInit(&n, x, now)
	pos := len(s.list)
	switch {
	case before > 0:
		pos = at
	case before < 0:
		pos = at + 1
	}
	s.list = append(s.list, listElem{})
	copy(s.list[pos+1:], s.list[pos:])
	s.list[pos] = n
	m.Refs++
	return nil
}

func (s *Set) listDel(m, ref *Set, before int) error {
	prev := -1
	for i := range s.list {
		l := &s.list[i]
		if s.listExpired(l, s.now()) {
			continue
		}
		if l.set != m {
			prev = i
			continue
		}
		switch {
		case before > 0:
			if i+1 >= len(s.list) || s.list[i+1].set != ref {
				return errListRef
			}
		case before < 0:
			if prev < 0 || s.list[prev].set != ref {
				return errListRef
			}
		}
		s.listRemove(i)
		return nil
	}
	if before != 0 {
		return errListRef
	}
	return errNotExist
}

// listTest is list_set_utest; a failed lookup is "not in set".
func (s *Set) listTest(e *elemSpec) bool {
	m, ref, err := s.listResolve(e)
	if err != nil {
		return false
	}
	now := s.now()
	before := e.before()
	prev := -1
	for i := range s.list {
		l := &s.list[i]
		if s.listExpired(l, now) {
			continue
		}
		if l.set != m {
			prev = i
			continue
		}
		switch {
		case before > 0:
			return i+1 < len(s.list) && s.list[i+1].set == ref
		case before < 0:
			return prev >= 0 && s.list[prev].set == ref
		}
		return true
	}
	return false
}

// listLen is the number of unexpired members.
func (s *Set) listLen() int {
	now := s.now()
	n := 0
	for i := range s.list {
		if !s.listExpired(&s.list[i], now) {
			n++
		}
	}
	return n
}

// parseListElem is ipset_parse_setname, or ipset_parse_name_compat for
// the "NAME,before|after,NAME" form.
func parseListElem(e *elemSpec, a string) error {
	name := a
	if j := sepIndex(a, ','); j >= 0 {
		name = a[:j]
		rest := a[j+1:]
		k := sepIndex(rest, ',')
		if k < 0 || (rest[:k] != "before" && rest[:k] != "after") {
			return kerr("you must specify elements as setname,[before|after],setname")
		}
		if err := checkSetName(name); err != nil {
			return err
		}
		e.ref, e.hasRef, e.refBefore = rest[k+1:], true, rest[:k] == "before"
		if err := checkSetName(e.ref); err != nil {
			return err
		}
	} else if err := checkSetName(name); err != nil {
		return err
	}
	e.name = name
	return nil
}

// listText is a member as list and save print it.
func (s *Set) listText(b *strings.Builder, e *listElem, now int64, state bool) {
	if state {
		b.WriteString(stateWord(e.set.Name))
	} else {
		b.WriteString(e.set.Name)
	}
	s.extText(b, e.expires, false, false, e.packets, e.bytes, e.comment, e.skb, now, state)
}

// listSpecText is the element as the test messages print it
// (ipset_print_name: the reference is always printed "after").
func listSpecText(e *elemSpec) string {
	if e.hasRef {
		return e.name + " after " + e.ref
	}
	return e.name
}

// listState writes the members of a list:set for the state file.
func (s *Set) listState(b *strings.Builder) {
	for i := range s.list {
		b.WriteString("add " + stateWord(s.Name) + " ")
		s.listText(b, &s.list[i], 0, true)
		b.WriteByte('\n')
	}
}

// loadListMember records a member named by a state file.
func (s *Set) loadListMember(e *elemSpec) {
	s.pendingList = append(s.pendingList, pendingMember{name: e.name, x: e.x, expires: e.expires, hasExp: e.hasExp})
}

// resolvePending places the members a state file named.
func (s *Set) resolvePending() {
	p := s.pendingList
	s.pendingList = nil
	for _, pm := range p {
		m := s.reg.Get(pm.name)
		if m == nil || m.isList() {
			continue
		}
		n := listElem{set: m}
		s.listInit(&n, &pm.x, 0)
		if pm.hasExp {
			n.expires = pm.expires
		}
		s.list = append(s.list, n)
		m.Refs++
	}
}

func (s *Set) listMemSize() int {
	return listMapSize + len(s.list)*s.dsize + s.commentB
}

func (s *Set) listHeader(b *strings.Builder) {
	b.WriteString("size " + strconv.FormatUint(uint64(s.Opts.Size), 10))
	s.extHeader(b)
}

// MatchList is list_set_ktest: the members are tested in order by test
// (the caller tests the packet against one member set, with the
// member's own counters updated as the match asks but never compared);
// the first member that matches decides, when its list element is not
// expired and its counters (updated unless update is false) pass cm.
func (s *Set) MatchList(pktLen uint64, now int64, update bool, cm CounterMatch, test func(m *Set) bool) bool {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	for i := range s.list {
		e := &s.list[i]
		if !test(e.set) {
			continue
		}
		if s.listExpired(e, now) {
			continue
		}
		if !s.Opts.Counters {
			s.copySkb(&e.skb, cm.Skb)
			return true
		}
		packets, bytes := atomic.LoadUint64(&e.packets), atomic.LoadUint64(&e.bytes)
		if update {
			packets, bytes = atomic.AddUint64(&e.packets, 1), atomic.AddUint64(&e.bytes, pktLen)
		}
		if counterOK(cm.PacketsOp, packets, cm.Packets) && counterOK(cm.BytesOp, bytes, cm.Bytes) {
			s.copySkb(&e.skb, cm.Skb)
			return true
		}
	}
	return false
}

// EachMember is list_set_kadd / list_set_kdel: fn is called on the
// unexpired members in order until it reports success (the member
// accepted the add or delete).
func (s *Set) EachMember(now int64, fn func(m *Set) bool) {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	for i := range s.list {
		if s.listExpired(&s.list[i], now) {
			continue
		}
		if fn(s.list[i].set) {
			return
		}
	}
}

// Members returns the names of a list:set's members in order.
func (s *Set) Members() []string {
	var out []string
	for i := range s.list {
		out = append(out, s.list[i].set.Name)
	}
	return out
}
