package ipset

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// u32index is the lookup index of the one-address types (hash:ip,
// hash:net per prefix length, bitmap:ip, bitmap:ip,mac): an
// open-addressing table of uint32 keys with linear probing and no
// pointers, each slot one word (key<<32 | nomatch<<31 | entry+1; 0 =
// empty), kept between a quarter and a half full. A lookup hashes by one
// multiplication and usually reads one cache line, where a Go map of the
// general element key reads two or more (see BENCHMARKS.md, "Set
// lookups"). It decides nothing the kernel shows: the emulated kernel
// table (set.go) orders the listing.
//
// A big index (a set of a million elements) does not fit in the caches,
// so a lookup pays a memory access; two things keep it to about one:
//   - its slots live in transparent huge pages when the kernel offers
//     them, so the access does not also miss the TLB (and walk page tables
//     that miss the caches as well);
//   - a filter of one bit per 4096-address block (the top 20 bits of the
//     key, 128 KiB, which stays in L2) answers most misses without
//     touching the slots: hash:net tries every prefix length present and
//     all but one of those probes usually miss.
type u32index struct {
	slots []uint64
	n     int
	shift uint8
	huge  *hugeSlots // the mapping holding slots, or nil (Go heap)

	filter []uint64 // nil below filterMinSlots
	stale  int      // deletions since the filter was built: bits it may hold for nothing
}

const (
	valueMask   = 1<<31 - 1
	nomatchFlag = 1 << 31

	filterBits = 20 // a filter bit per 2^(32-filterBits) keys
	// Below 64Ki slots (512 KiB) the index stays in the caches and a
	// filter would be one more read.
	filterMinSlots = 1 << 16
	// Huge pages for 4 MiB of slots and more (2 huge pages).
	hugeMinBytes = 4 << 20
	hugePage     = 2 << 20
)

func (t *u32index) home(k uint32) int {
	return int((uint64(k) * 0x9E3779B97F4A7C15) >> t.shift)
}

// find returns the entry of key k and its nomatch mark.
func (t *u32index) find(k uint32) (i int32, nomatch, ok bool) {
	if t == nil || t.n == 0 {
		return -1, false, false
	}
	if f := t.filter; f != nil {
		b := k >> (32 - filterBits)
		if f[b>>6]&(1<<(b&63)) == 0 {
			return -1, false, false
		}
	}
	m := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			return -1, false, false
		}
		if uint32(s>>32) == k {
			return int32(uint32(s)&valueMask) - 1, uint32(s)&nomatchFlag != 0, true
		}
	}
}

// get returns the entry of key k.
func (t *u32index) get(k uint32) (int32, bool) {
	i, _, ok := t.find(k)
	return i, ok
}

// slot returns the position of key k in slots, or -1.
func (t *u32index) slot(k uint32) int {
	if t == nil || t.n == 0 {
		return -1
	}
	m := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == k {
			return i
		}
	}
}

// setNomatch marks the entry of key k as a nomatch element (hash:net's
// nomatch flag), or not, so that a lookup need not read the entry.
func (t *u32index) setNomatch(k uint32, nomatch bool) {
	i := t.slot(k)
	if i < 0 {
		return
	}
	if nomatch {
		t.slots[i] |= nomatchFlag
	} else {
		t.slots[i] &^= nomatchFlag
	}
}

// put sets the entry of key k (its nomatch mark cleared).
func (t *u32index) put(k uint32, v int32) {
	if (t.n+1)*2 > len(t.slots) {
		t.grow()
	}
	t.insert(uint64(k)<<32 | uint64(uint32(v+1)))
}

func (t *u32index) insert(w uint64) {
	k := uint32(w >> 32)
	m := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			t.slots[i] = w
			t.n++
			break
		}
		if uint32(s>>32) == k {
			t.slots[i] = w
			return
		}
	}
	if f := t.filter; f != nil {
		b := k >> (32 - filterBits)
		f[b>>6] |= 1 << (b & 63)
	}
}

// grow doubles the table (at the first put: 16 slots).
func (t *u32index) grow() {
	old, oldHuge := t.slots, t.huge
	size := 16
	for size < (t.n+1)*2 {
		size *= 2
	}
	t.slots, t.huge = allocSlots(size)
	t.shift = uint8(64 - bitsLen(size-1))
	t.n = 0
	t.filter, t.stale = nil, 0
	if size >= filterMinSlots && useFilter {
		t.filter = make([]uint64, 1<<filterBits/64)
	}
	for _, s := range old {
		if s != 0 {
			t.insert(s)
		}
	}
	oldHuge.free()
}

func (t *u32index) rebuildFilter() {
	clear(t.filter)
	for _, s := range t.slots {
		if s != 0 {
			b := uint32(s>>32) >> (32 - filterBits)
			t.filter[b>>6] |= 1 << (b & 63)
		}
	}
	t.stale = 0
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
	i := t.slot(k)
	if i < 0 {
		return
	}
	m := len(t.slots) - 1
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
	// The filter keeps the block's bit (another key may share it); it is
	// rebuilt once the deletions since it was built reach an eighth of the
	// slots, so that it costs a delete a few slot reads at most.
	if t.filter != nil {
		if t.stale++; t.stale*8 >= len(t.slots) {
			t.rebuildFilter()
		}
	}
}

// hugeSlots is a private anonymous mapping advised to transparent huge
// pages (MADV_HUGEPAGE: the kernel backs it with 2 MiB pages when the
// system's setting is "madvise" or "always"). The Go heap is not, and a
// lookup in a 32 MiB index spread over 4 KiB pages misses the TLB as well
// as the caches. It is unmapped when the index grows out of it, or by a
// cleanup once unreachable (a flushed or destroyed set).
type hugeSlots struct {
	mem     []byte
	cleanup runtime.Cleanup
}

var thpMode = sync.OnceValue(func() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	// "always [madvise] never": the bracketed word is the setting.
	s := string(b)
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return ""
})

// The huge pages and the filter can be switched off, for the benchmarks
// that measure what each does (BenchmarkIndexOff*).
var hugePages, useFilter = true, true

func allocSlots(n int) ([]uint64, *hugeSlots) {
	size := n * 8
	if !hugePages || size < hugeMinBytes || (thpMode() != "madvise" && thpMode() != "always") {
		return make([]uint64, n), nil
	}
	// One huge page more, to align the slots to one.
	mem, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]uint64, n), nil
	}
	off := 0
	if r := uintptr(unsafe.Pointer(&mem[0])) % hugePage; r != 0 {
		off = int(hugePage - r)
	}
	body := mem[off : off+size]
	_ = syscall.Madvise(body, syscall.MADV_HUGEPAGE) // advice only: 4 KiB pages otherwise
	h := &hugeSlots{mem: mem}
	h.cleanup = runtime.AddCleanup(h, func(m []byte) { _ = syscall.Munmap(m) }, mem)
	return unsafe.Slice((*uint64)(unsafe.Pointer(&body[0])), n), h
}

// mappedBytes is the memory of the index outside the Go heap (its
// huge-page mapping), which runtime.MemStats does not count.
func (t *u32index) mappedBytes() int {
	if t == nil || t.huge == nil {
		return 0
	}
	return len(t.huge.mem)
}

func (h *hugeSlots) free() {
	if h == nil {
		return
	}
	h.cleanup.Stop()
	_ = syscall.Munmap(h.mem)
	h.mem = nil
}
