package jhash

import "testing"

// jhash_1word and jhash2 of one word are the same function.
func TestWordIsWords(t *testing.T) {
	for i := uint32(0); i < 100000; i += 7 {
		if Word(i*2654435761, i) != Words([]uint32{i * 2654435761}, i) {
			t.Fatalf("differ at %d", i)
		}
	}
	if Words(nil, 0) != initVal {
		t.Fatal("empty input")
	}
}
