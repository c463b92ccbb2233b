package ipset

import (
	"strconv"
	"strings"
)

// The state file (ipset.save in the store) is restore syntax plus, per set,
// the absolute expiry of each element ("nfgo-expires NS") and one
// "nfgo-layout" line recording the emulated kernel hash table (bits, and per
// bucket: index, size, pos and the slots as ordinals of the set's "add"
// lines, -1 for a hole), so that the listing order and "Size in memory" stay
// the kernel's across invocations.

// stateOrder lists every stored entry (expired ones too) in bucket order.
func (s *Set) stateOrder() []int32 {
	if s.isBitmap() {
		return s.bmMembers(true)
	}
	var out []int32
	for _, n := range s.t.buckets {
		if n == nil {
			continue
		}
		for j := 0; j < n.pos; j++ {
			if i := n.slot[j]; i >= 0 {
				out = append(out, i)
			}
		}
	}
	return out
}

// The registry's free slots (a destroyed set's index, which the next
// created set takes) are kept as "nfgo-hole" lines.

func (s *Set) writeState(b *strings.Builder) {
	b.WriteString("create " + stateWord(s.Name) + " " + s.Type + " " + s.Header())
	if s.Opts.ForceAdd {
		b.WriteString(" forceadd") // not in the kernel's header, kept here
	}
	b.WriteByte('\n')
	if s.isList() {
		s.listState(b)
		return
	}
	order := s.stateOrder()
	ord := make(map[int32]int, len(order))
	for k, i := range order {
		ord[i] = k
		b.WriteString("add " + stateWord(s.Name) + " ")
		s.elemText(b, i, 0, true)
		b.WriteByte('\n')
	}
	if s.isBitmap() {
		return
	}
	b.WriteString("nfgo-layout " + stateWord(s.Name) + " " + strconv.Itoa(int(s.t.bits)) + " ext=")
	for r, x := range s.t.ext {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x))
	}
	for k, n := range s.t.buckets {
		if n == nil {
			continue
		}
		b.WriteString(" " + strconv.Itoa(k) + ":" + strconv.Itoa(len(n.slot)) + ":" + strconv.Itoa(n.pos) + ":")
		for j := 0; j < n.pos; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			if n.slot[j] < 0 {
				b.WriteString("-1")
			} else {
				b.WriteString(strconv.Itoa(ord[n.slot[j]]))
			}
		}
	}
	b.WriteByte('\n')
}

// loadEntry stores an element from a state file without placing it.
func (s *Set) loadEntry(e *elemSpec) {
	i := s.newEntry(s.specKey(e))
	s.setExt(&s.entries[i], &e.x, 0)
	if e.hasExp {
		s.entries[i].expires = e.expires
	}
	if s.Type == TypeBitmapIPMAC {
		m := s.mac(e.ip)
		*m = ipmacState{filled: e.ether != nil, plain: e.plain}
		if e.ether != nil {
			m.ether = [6]byte(e.ether)
		} else if !e.hasExp {
			s.entries[i].expires = 0 // the timer is not running
		}
	}
	s.pending = append(s.pending, i)
}

// applyLayout rebuilds the table from a nfgo-layout line.
func (s *Set) applyLayout(words []string) error {
	bad := kerr("nfgo: bad nfgo-layout line")
	if len(words) < 1 {
		return bad
	}
	b, err := strconv.Atoi(words[0])
	if err != nil || b < 0 || b > maxHtableBits {
		return bad
	}
	t := newHtable(uint8(b), s.Opts.Maxelem)
	var ext []int
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "ext=") {
			for _, v := range strings.Split(w[4:], ",") {
				n, err := strconv.Atoi(v)
				if err != nil {
					return bad
				}
				ext = append(ext, n)
			}
			continue
		}
		f := strings.SplitN(w, ":", 4)
		if len(f) != 4 {
			return bad
		}
		k, e1 := strconv.Atoi(f[0])
		size, e2 := strconv.Atoi(f[1])
		pos, e3 := strconv.Atoi(f[2])
		if e1 != nil || e2 != nil || e3 != nil || k < 0 || k >= len(t.buckets) || pos > size || size > 255 {
			return bad
		}
		n := &hbucket{slot: make([]int32, size), pos: pos}
		for j := range n.slot {
			n.slot[j] = -1
		}
		r := region(uint32(k))
		if f[3] != "" {
			for j, o := range strings.Split(f[3], ",") {
				v, err := strconv.Atoi(o)
				if err != nil || j >= pos || v >= len(s.pending) {
					return bad
				}
				if v >= 0 {
					n.slot[j] = s.pending[v]
					t.elems[r]++
				}
			}
		}
		t.buckets[k] = n
		t.ext[r] += s.extSize(size)
	}
	if len(ext) == len(t.ext) {
		copy(t.ext, ext)
	}
	s.t = t
	s.pending = nil
	return nil
}

// placePending places elements loaded without a layout line.
func (s *Set) placePending() {
	p := s.pending
	s.pending = nil
	for _, i := range p {
		e := s.entries[i]
		s.dropEntry(i)
		x := Elem{Packets: e.packets, Bytes: e.bytes, HasPackets: true, HasBytes: true, Comment: e.ext().comment, HasComment: e.ext().comment != "", NoMatch: e.nomatch, Skb: e.ext().skb}
		if s.add(e.key(), &x, true) == nil {
			if j := s.lookupExact(e.key()); j >= 0 {
				s.entries[j].expires = e.expires
			}
		}
	}
}
