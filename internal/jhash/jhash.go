// Package jhash is the kernel's jhash (Bob Jenkins' lookup3), used where
// nfgo must place entries exactly as the kernel does: ipset's buckets (the
// listing order and memory figures), recent's and connlimit's hash slots.
package jhash

import "math/bits"

const initVal = 0xdeadbeef // JHASH_INITVAL

// final is __jhash_final.
func final(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// Words is jhash2(k, len(k), initval).
func Words(k []uint32, initval uint32) uint32 {
	a := initVal + uint32(len(k))<<2 + initval
	b, c := a, a
	for len(k) > 3 {
		a += k[0]
		b += k[1]
		c += k[2]
		// __jhash_mix
		a -= c
		a ^= bits.RotateLeft32(c, 4)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 6)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 8)
		b += a
		a -= c
		a ^= bits.RotateLeft32(c, 16)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 19)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 4)
		b += a
		k = k[3:]
	}
	switch len(k) {
	case 3:
		c += k[2]
		fallthrough
	case 2:
		b += k[1]
		fallthrough
	case 1:
		a += k[0]
		return final(a, b, c)
	}
	return c
}

// Word is jhash_1word(a, initval), the same as Words of one word.
func Word(a, initval uint32) uint32 {
	iv := initval + initVal + 1<<2
	return final(a+iv, iv, iv)
}
