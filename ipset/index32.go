package ipset

// u32index is the lookup index of the one-address types (hash:ip,
// hash:net per prefix length, bitmap:ip, bitmap:ip,mac): an
// open-addressing table of uint32 keys with linear probing and no
// pointers, each slot one word (key<<32 | entry+1; 0 = empty), kept at most
// half full. A lookup hashes by one multiplication and usually reads one
// cache line, where a Go map of the general element key reads two or more
// (see BENCHMARKS.md, "Set lookups"). It decides nothing the kernel
// shows: the emulated kernel table (set.go) orders the listing.
type u32index struct {
	slots []uint64
	n     int
	shift uint8
}

func (t *u32index) home(k uint32) int {
	return int((uint64(k) * 0x9E3779B97F4A7C15) >> t.shift)
}

// get returns the entry of key k.
func (t *u32index) get(k uint32) (int32, bool) {
	if t == nil || t.n == 0 {
		return -1, false
	}
	m := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			return -1, false
		}
		if uint32(s>>32) == k {
			return int32(uint32(s)) - 1, true
		}
	}
}

func (t *u32index) put(k uint32, v int32) {
	if (t.n+1)*2 > len(t.slots) {
		t.grow()
	}
	m := len(t.slots) - 1
	w := uint64(k)<<32 | uint64(uint32(v+1))
	for i := t.home(k); ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			t.slots[i] = w
			t.n++
			return
		}
		if uint32(s>>32) == k {
			t.slots[i] = w
			return
		}
	}
}

func (t *u32index) grow() {
	old := t.slots
	size := 16
	for size < (t.n+1)*4 {
		size *= 2
	}
	t.slots = make([]uint64, size)
	t.shift = uint8(64 - bitsLen(size-1))
	t.n = 0
	for _, s := range old {
		if s != 0 {
			t.put(uint32(s>>32), int32(uint32(s))-1)
		}
	}
}

func bitsLen(x int) int {
	n := 0
	for ; x > 0; x >>= 1 {
		n++
	}
	return n
}

// del removes key k, shifting the following run back so that no
// tombstones are needed.
func (t *u32index) del(k uint32) {
	if t == nil || t.n == 0 {
		return
	}
	m := len(t.slots) - 1
	i := t.home(k)
	for ; ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			return
		}
		if uint32(s>>32) == k {
			break
		}
	}
	for j := i; ; {
		j = (j + 1) & m
		s := t.slots[j]
		if s == 0 {
			break
		}
		h := t.home(uint32(s >> 32))
		// Move s into the hole at i unless its home lies in (i, j].
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = 0
	t.n--
}
