package ipset

import "github.com/nfgo/nfgo/internal/jhash"

// jhash2 is the kernel's jhash2 over 32-bit words, as ipset's hash types
// use it to place an element in a bucket. Emulating it reproduces the
// kernel's bucket layout, hence its listing order, "Size in memory" and
// resizing.
func jhash2(k []uint32, initval uint32) uint32 { return jhash.Words(k, initval) }
