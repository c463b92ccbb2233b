package conntrack

// What the conntrack tool (tools/conntrack) needs beyond the table's
// packet-path API.

// FlushExpectations removes every expectation (conntrack -F expect,
// ctnetlink's expectation flush) and returns how many it removed.
func (t *Table) FlushExpectations() int {
	x := t.exp
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for b := range x.heads {
		for x.heads[b] != nil {
			x.unlink(x.heads[b])
			n++
		}
	}
	return n
}
