package xt

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// string: --algo bm|kmp [--from N] [--to N] [--icase]
// [!] --string text | [!] --hex-string "|hex|text"  (libxt_string revision 1,
// struct xt_string_info).

var stringMatch = Def{
	Name:     "string",
	Kind:     KindMatch,
	Revision: 1,
	Options: []Option{
		{Name: "from", Arg: true},
		{Name: "to", Arg: true},
		{Name: "algo", Arg: true, Flags: OptMand},
		{Name: "string", Arg: true, Flags: OptInvert, Excl: []string{"hex-string"}},
		{Name: "hex-string", Arg: true, Flags: OptInvert, Excl: []string{"string"}},
		{Name: "icase"},
	},
	New: func() Ext { return &String{ToOffset: 0xFFFF} },
}

// Sizes and flags of struct xt_string_info.
const (
	StringMaxPatternSize = 128 // XT_STRING_MAX_PATTERN_SIZE
	StringMaxAlgoName    = 16  // XT_STRING_MAX_ALGO_NAME_SIZE
	StringFlagInvert     = 0x01
	StringFlagIgnoreCase = 0x02
)

// String is struct xt_string_info (revision 1).
type String struct {
	FromOffset uint16
	ToOffset   uint16
	Algo       string // at most 15 bytes
	Pattern    []byte // at most 128 bytes
	Flags      uint8
	given      bool         // --string or --hex-string seen
	ts         stringSearch // the kernel's ts_config, built by Final
}

// parseHexString is parse_hex_string: text with "|hex bytes|" blocks and
// "\c" literals outside them.
func parseHexString(s string) ([]byte, error) {
	slen := len(s)
	if slen == 0 {
		return nil, Errorf("STRING must contain at least one char")
	}
	at := func(i int) byte { // s[i], with the C string's terminating NUL
		if i < slen {
			return s[i]
		}
		return 0
	}
	var pat []byte
	hexF, literalF := false, false
	for i := 0; i < slen; {
		if len(pat) >= StringMaxPatternSize {
			return nil, Errorf("STRING too long \"%s\"", s)
		}
		if s[i] == '\\' && !hexF {
			literalF = true
		} else if s[i] == '\\' {
			return nil, Errorf("Cannot include literals in hex data")
		} else if s[i] == '|' {
			if hexF {
				hexF = false
			} else {
				hexF = true
				for at(i+1) == ' ' {
					i++
				}
			}
			if i+1 >= slen {
				break
			}
			i++
		}
		if literalF {
			if i+1 >= slen {
				return nil, Errorf("Bad literal placement at end of string")
			}
			pat = append(pat, s[i+1])
			i += 2
			literalF = false
		} else if hexF {
			if i+1 >= slen {
				return nil, Errorf("Odd number of hex digits")
			}
			if i+2 >= slen {
				return nil, Errorf("Invalid hex block")
			}
			if digitVal(s[i]) >= 16 {
				return nil, Errorf("Invalid hex char '%c'", s[i])
			}
			if digitVal(s[i+1]) >= 16 {
				return nil, Errorf("Invalid hex char '%c'", s[i+1])
			}
			pat = append(pat, byte(digitVal(s[i])<<4|digitVal(s[i+1])))
			if s[i+2] == ' ' {
				i += 3
			} else {
				i += 2
			}
		} else {
			pat = append(pat, s[i])
			i++
		}
	}
	return pat, nil
}

func (st *String) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "from", "to":
		v, err := ParseUintOpt("string", o.Name, arg, 0, 0xFFFF)
		if err != nil {
			return err
		}
		if o.Name == "from" {
			st.FromOffset = uint16(v)
		} else {
			st.ToOffset = uint16(v)
		}
	case "algo":
		if len(arg) >= StringMaxAlgoName {
			arg = arg[:StringMaxAlgoName-1]
		}
		// The C string stops at a NUL; Go strings from argv have none.
		st.Algo = arg
	case "string":
		if len(arg) > StringMaxPatternSize {
			return Errorf("STRING too long \"%s\"", arg)
		}
		st.Pattern = []byte(arg)
	case "hex-string":
		p, err := parseHexString(arg)
		if err != nil {
			return err
		}
		st.Pattern = p
	case "icase":
		st.Flags |= StringFlagIgnoreCase
	}
	if (o.Name == "string" || o.Name == "hex-string") && invert {
		st.Flags |= StringFlagInvert
	}
	if o.Name == "string" || o.Name == "hex-string" {
		st.given = true
	}
	return nil
}

func (st *String) Final(c *Ctx) error {
	if !st.given {
		return Errorf("STRING match: You must specify `--string' or `--hex-string'")
	}
	st.prepare()
	return nil
}

// Check is the kernel's string_mt_check and textsearch_prepare: the
// offsets must be ordered, the pattern non-empty and the algorithm one the
// kernel has (bm, kmp, fsm; fsm takes a token array, see fsmValid).
func (st *String) Check(c *Ctx) error {
	if st.FromOffset > st.ToOffset {
		return EINVAL("xt_string: from offset %d > to offset %d", st.FromOffset, st.ToOffset)
	}
	if len(st.Pattern) == 0 {
		return EINVAL("textsearch: empty pattern")
	}
	switch st.Algo {
	case "bm", "kmp":
	case "fsm":
		if !fsmValid(st.Pattern, st.Flags&StringFlagIgnoreCase != 0) {
			return EINVAL("textsearch fsm: invalid token array")
		}
	default:
		return &KernelError{Errno: "No chain/target/match by that name"}
	}
	return nil
}

// fsmValid is the validation of lib/ts_fsm.c's fsm_init: the pattern is an
// array of 4-byte tokens {u16 type, u8 recur, u8 value} in host (little
// endian) order, no --icase.
func fsmValid(p []byte, icase bool) bool {
	const typeMax, recurMax, headIgnore = 13, 4, 4
	n := len(p) / 4
	if len(p)%4 != 0 || n < 1 || icase {
		return false
	}
	for i := 0; i < n; i++ {
		typ := binary.LittleEndian.Uint16(p[4*i:])
		recur := p[4*i+2]
		if typ > typeMax || recur > recurMax {
			return false
		}
		if recur == headIgnore && (i != 0 || i == n-1) {
			return false
		}
	}
	return true
}

// stringIsHex is is_hex_string: print in hex when a byte is not printable
// (C locale) or the last one is a backslash.
func stringIsHex(p []byte) bool {
	for _, c := range p {
		if c < 0x20 || c > 0x7e {
			return true
		}
	}
	return len(p) > 0 && p[len(p)-1] == '\\'
}

// writeStringPattern is print_hex_string / print_string.
func writeStringPattern(b *strings.Builder, p []byte, hex bool) {
	if hex {
		b.WriteString(" \"|")
		for _, c := range p {
			fmt.Fprintf(b, "%02x", c)
		}
		b.WriteString("|\"")
		return
	}
	b.WriteString(" \"")
	for _, c := range p {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteString("\"")
}

func (st *String) Save(b *strings.Builder, c *Ctx) {
	hex := stringIsHex(st.Pattern)
	if st.Flags&StringFlagInvert != 0 {
		b.WriteString(" !")
	}
	if hex {
		b.WriteString(" --hex-string")
	} else {
		b.WriteString(" --string")
	}
	writeStringPattern(b, st.Pattern, hex)
	b.WriteString(" --algo " + st.Algo)
	if st.FromOffset != 0 {
		fmt.Fprintf(b, " --from %d", st.FromOffset)
	}
	if st.ToOffset != 0xFFFF {
		fmt.Fprintf(b, " --to %d", st.ToOffset)
	}
	if st.Flags&StringFlagIgnoreCase != 0 {
		b.WriteString(" --icase")
	}
}

func (st *String) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" STRING match ")
	if st.Flags&StringFlagInvert != 0 {
		b.WriteString("!")
	}
	writeStringPattern(b, st.Pattern, stringIsHex(st.Pattern))
	b.WriteString(" ALGO name " + st.Algo)
	if st.FromOffset != 0 {
		fmt.Fprintf(b, " FROM %d", st.FromOffset)
	}
	if st.ToOffset != 0xFFFF {
		fmt.Fprintf(b, " TO %d", st.ToOffset)
	}
	if st.Flags&StringFlagIgnoreCase != 0 {
		b.WriteString(" ICASE")
	}
}

// Packet logic: the kernel's string_mt, skb_find_text and the textsearch
// algorithms of lib/ts_bm.c, lib/ts_kmp.c and lib/ts_fsm.c.
//
// What is searched: skb_find_text reads the skb from its data pointer,
// which at every IPv4 netfilter hook is the start of the IP header, so
// --from/--to count from the first byte of the IP header (p.B[0]), not
// from the transport payload. The search text is the packet from
// --from to its end: skb_seq_read hands out the whole linear block, not
// only the bytes before --to; --to is applied afterwards, a match counting
// only if it ends at or before --to (offset+patlen <= to-from); only the
// algorithm's first hit is considered. --from >= --to, or --from at or
// beyond the packet's end, finds nothing. Fragments are searched like any
// packet (no fragment check). nfgo models the skb as one linear block; the
// kernel's Boyer-Moore misses a pattern spanning two blocks of a
// non-linear skb, which nfgo never sees.

// Search algorithms (stringSearch.algo).
const (
	tsNone = iota // not prepared: the kernel would have refused the rule
	tsBM
	tsKMP
	tsFSM
)

// stringSearch is the rule's ts_config (textsearch_prepare), built by
// Final so that Match does not allocate.
type stringSearch struct {
	algo      uint8
	icase     bool
	pat       []byte // upper-cased (kernel toupper) with --icase
	badShift  *[256]uint32
	goodShift []uint32
	prefix    []uint32
	fsm       []fsmToken
}

// fsmToken is struct ts_fsm_token after fsm_init: typ is the class mask
// (token_map) or 0 for a specific byte.
type fsmToken struct {
	typ   uint16
	recur uint8
	value uint8
}

// The kernel's lib/ctype.c classes (Latin-1, unlike C's "C" locale), which
// its toupper/tolower and ts_fsm use.
const (
	kcU  = 0x01
	kcL  = 0x02
	kcD  = 0x04
	kcC  = 0x08
	kcP  = 0x10
	kcS  = 0x20
	kcX  = 0x40
	kcSP = 0x80
	kcA  = 0x100 // ts_fsm: ASCII
	kcW  = 0x200 // ts_fsm: wildcard
)

var (
	kctype   [256]uint8
	ktoupper [256]byte
	ktolower [256]byte
	// fsmClass is ts_fsm's token_lookup_tbl.
	fsmClass [256]uint16
)

func init() {
	set := func(lo, hi int, f uint8) {
		for c := lo; c <= hi; c++ {
			kctype[c] = f
		}
	}
	set(0, 31, kcC)
	set(9, 13, kcC|kcS)
	set(32, 32, kcS|kcSP)
	set(33, 47, kcP)
	set(48, 57, kcD)
	set(58, 64, kcP)
	set(65, 70, kcU|kcX)
	set(71, 90, kcU)
	set(91, 96, kcP)
	set(97, 102, kcL|kcX)
	set(103, 122, kcL)
	set(123, 126, kcP)
	set(127, 127, kcC)
	set(160, 160, kcS|kcSP)
	set(161, 191, kcP)
	set(192, 214, kcU)
	set(215, 215, kcP)
	set(216, 222, kcU)
	set(223, 246, kcL)
	set(247, 247, kcP)
	set(248, 255, kcL)
	for c := 0; c < 256; c++ {
		ktoupper[c], ktolower[c] = byte(c), byte(c)
		if kctype[c]&kcL != 0 {
			ktoupper[c] = byte(c - 32)
		}
		if kctype[c]&kcU != 0 {
			ktolower[c] = byte(c + 32)
		}
		fsmClass[c] = kcW | uint16(kctype[c])
		if c < 128 {
			fsmClass[c] |= kcA
		}
	}
}

// fsmTokenMap is ts_fsm's token_map: token type to class mask.
var fsmTokenMap = [14]uint16{
	0, kcW, kcD, kcD | kcX, kcP | kcU | kcL | kcD | kcSP, kcU | kcL,
	kcU | kcL | kcD, kcA, kcC, kcP | kcU | kcL | kcD, kcL, kcU, kcP, kcS,
}

// ts_fsm recurrences.
const (
	fsmSingle = iota
	fsmPerhaps
	fsmAny
	fsmMulti
	fsmHeadIgnore
)

// prepare builds the search state (bm_init, kmp_init, fsm_init). It leaves
// algo tsNone for what textsearch_prepare refuses.
func (st *String) prepare() {
	s := &st.ts
	*s = stringSearch{}
	m := len(st.Pattern)
	if m == 0 {
		return
	}
	s.icase = st.Flags&StringFlagIgnoreCase != 0
	switch st.Algo {
	case "bm", "kmp":
		s.pat = make([]byte, m)
		for i, c := range st.Pattern {
			if s.icase {
				c = ktoupper[c]
			}
			s.pat[i] = c
		}
		if st.Algo == "kmp" {
			s.algo = tsKMP
			s.prefix = make([]uint32, m)
			k := uint32(0)
			for q := 1; q < m; q++ {
				for k > 0 && s.pat[k] != s.pat[q] {
					k = s.prefix[k-1]
				}
				if s.pat[k] == s.pat[q] {
					k++
				}
				s.prefix[q] = k
			}
			return
		}
		s.algo = tsBM
		s.badShift = new([256]uint32)
		for i := range s.badShift {
			s.badShift[i] = uint32(m)
		}
		for i := 0; i < m-1; i++ {
			s.badShift[s.pat[i]] = uint32(m - 1 - i)
			if s.icase {
				s.badShift[ktolower[s.pat[i]]] = uint32(m - 1 - i)
			}
		}
		s.goodShift = make([]uint32, m)
		s.goodShift[0] = 1
		for i := 1; i < m; i++ {
			s.goodShift[i] = uint32(m)
		}
		for i, g := m-1, 1; i > 0; i, g = i-1, g+1 {
			for j := i - 1; j >= 1-g; j-- {
				if bmSubpattern(s.pat, i, j, g) {
					s.goodShift[g] = uint32(m - j - g)
					break
				}
			}
		}
	case "fsm":
		if !fsmValid(st.Pattern, s.icase) {
			return
		}
		s.algo = tsFSM
		s.fsm = make([]fsmToken, m/4)
		for i := range s.fsm {
			s.fsm[i] = fsmToken{
				typ:   fsmTokenMap[binary.LittleEndian.Uint16(st.Pattern[4*i:])],
				recur: st.Pattern[4*i+2],
				value: st.Pattern[4*i+3],
			}
		}
	}
}

// bmSubpattern is ts_bm's subpattern: do the g bytes ending the pattern
// recur ending at j+g-1, preceded by a different byte?
func bmSubpattern(p []byte, i, j, g int) bool {
	x, y := i+g-1, j+g-1
	for {
		eq := p[x] == p[y]
		x, y = x-1, y-1
		if !eq {
			return false
		}
		if y < 0 {
			return true
		}
		g--
		if g == 0 {
			return p[i-1] != p[j-1]
		}
	}
}

// bmFind is bm_find over one block: the offset of the first hit, or -1.
// The bad-character shift indexes the text byte as it is (not upper-cased),
// as the kernel does.
func (s *stringSearch) bmFind(text []byte) int {
	m := len(s.pat)
	for shift := m - 1; shift < len(text); {
		i := 0
		for ; i < m; i++ {
			t := text[shift-i]
			if s.icase {
				t = ktoupper[t]
			}
			if t != s.pat[m-1-i] {
				break
			}
		}
		if i == m {
			return shift - (m - 1)
		}
		a := shift - i + int(s.badShift[text[shift-i]])
		b := shift + int(s.goodShift[i])
		if a > b {
			shift = a
		} else {
			shift = b
		}
	}
	return -1
}

// kmpFind is kmp_find.
func (s *stringSearch) kmpFind(text []byte) int {
	m := uint32(len(s.pat))
	q := uint32(0)
	for i, c := range text {
		if s.icase {
			c = ktoupper[c]
		}
		for q > 0 && s.pat[q] != c {
			q = s.prefix[q-1]
		}
		if s.pat[q] == c {
			q++
		}
		if q == m {
			return i + 1 - int(m)
		}
	}
	return -1
}

func (t *fsmToken) match(d byte) bool {
	if t.typ != 0 {
		return fsmClass[d]&t.typ != 0
	}
	return t.value == d
}

// fsmFind is fsm_find over one block. Its quirks are kept: without a
// leading head-ignore token the match is anchored at the first byte
// searched, and unless the last token is "any" or "multi" the match must
// also reach the end of the data.
func (s *stringSearch) fsmFind(text []byte) int {
	n := len(text)
	if n == 0 {
		return -1
	}
	toks := s.fsm
	strict := toks[0].recur != fsmHeadIgnore
	pos := 0
startover:
	for {
		start := pos
		for ti := range toks {
			cur := &toks[ti]
			var next *fsmToken
			if ti < len(toks)-1 {
				next = &toks[ti+1]
			}
			switch cur.recur {
			case fsmSingle:
				if pos >= n {
					return -1
				}
				if !cur.match(text[pos]) {
					if strict {
						return -1
					}
					pos++
					continue startover
				}
			case fsmPerhaps:
				if pos >= n || !cur.match(text[pos]) {
					continue
				}
			case fsmMulti, fsmAny:
				if cur.recur == fsmMulti {
					if pos >= n {
						return -1
					}
					if !cur.match(text[pos]) {
						if strict {
							return -1
						}
						pos++
						continue startover
					}
					pos++
				}
				if next == nil {
					return start
				}
				if pos >= n {
					continue
				}
				for !next.match(text[pos]) {
					if !cur.match(text[pos]) {
						if strict {
							return -1
						}
						pos++
						continue startover
					}
					pos++
					if pos >= n {
						return -1
					}
				}
				continue
			case fsmHeadIgnore:
				if pos >= n {
					continue
				}
				for !next.match(text[pos]) {
					if !cur.match(text[pos]) {
						return -1
					}
					pos++
					if pos >= n {
						return -1
					}
				}
				start = pos
				continue
			}
			pos++
		}
		if pos >= n {
			return start
		}
		return -1
	}
}

// Match is string_mt: skb_find_text(skb, from, to) != UINT_MAX, inverted
// by "!".
func (st *String) Match(p *Pkt) bool {
	return st.find(p.B) != (st.Flags&StringFlagInvert != 0)
}

func (st *String) find(b []byte) bool {
	s := &st.ts
	from, to := int(st.FromOffset), int(st.ToOffset)
	if s.algo == tsNone || from >= to || from >= len(b) {
		return false
	}
	text := b[from:]
	var ret int
	switch s.algo {
	case tsBM:
		ret = s.bmFind(text)
	case tsKMP:
		ret = s.kmpFind(text)
	default:
		ret = s.fsmFind(text)
	}
	// get_pattern_len: the pattern's bytes (for fsm, 4 per token).
	return ret >= 0 && ret+len(st.Pattern) <= to-from
}
