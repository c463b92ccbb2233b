package xt

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/netns"
	"github.com/nfgo/nfgo/packet"
)

// Packet logic of matches group B (tos, dscp, tcpmss, owner, string, time,
// addrtype, statistic), checked against what the kernel's match functions
// do (Linux 6.18: xt_dscp.c, xt_tcpmss.c, xt_owner.c, xt_string.c with
// lib/ts_bm.c, ts_kmp.c, ts_fsm.c, xt_time.c, xt_addrtype.c,
// xt_statistic.c).

const (
	mbSrc = 0x0a000001 // 10.0.0.1
	mbDst = 0x0a000002 // 10.0.0.2
)

// mbMatcher parses "-m name args" (words split on spaces, "!" inverts).
func mbMatcher(t *testing.T, d *Def, proto uint8, args string) Matcher {
	t.Helper()
	in, err := parseExt(t, d, proto, strings.Fields(args))
	if err != nil {
		t.Fatalf("-m %s %s: %v", d.Name, args, err)
	}
	return in.Ext.(Matcher)
}

func mbPkt(t testing.TB, raw []byte) *Pkt {
	t.Helper()
	p := &Pkt{}
	if err := p.Decode(raw); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return p
}

// mbTrunc cuts an IPv4 packet to n bytes, fixing length and checksum.
func mbTrunc(b []byte, n int) []byte {
	b = append([]byte(nil), b[:n]...)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], packet.Checksum16(b[:int(b[0]&0x0F)*4], 0))
	return b
}

// mbUDP is a UDP packet 10.0.0.1 -> 10.0.0.2 carrying payload (at IP
// offset 28).
func mbUDP(payload string) []byte {
	b := packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoUDP, SrcPort: 40000, DstPort: 80, PayloadLen: len(payload)})
	copy(b[28:], payload)
	return b
}

func mbTCP(opts []byte) []byte {
	return packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoTCP, SrcPort: 40000, DstPort: 80, TCPFlags: packet.TCPSyn, TCPOptions: opts})
}

type mbCase struct {
	def     *Def
	proto   uint8
	args    string
	raw     []byte
	setup   func(p *Pkt)
	want    bool
	hotdrop bool
}

func mbRun(t *testing.T, cases []mbCase) {
	t.Helper()
	for i, c := range cases {
		m := mbMatcher(t, c.def, c.proto, c.args)
		p := mbPkt(t, c.raw)
		if c.setup != nil {
			c.setup(p)
		}
		got := m.Match(p)
		if got != c.want || p.HotDrop != c.hotdrop {
			t.Errorf("case %d: -m %s %s: match %v hotdrop %v, want %v %v", i, c.def.Name, c.args, got, p.HotDrop, c.want, c.hotdrop)
		}
	}
}

func TestTOSDSCPMatchPacket(t *testing.T) {
	tos := func(v uint8) []byte {
		return packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoICMP, ICMPType: 8, TOS: v})
	}
	mbRun(t, []mbCase{
		{def: &tosMatch, args: "--tos 0x10", raw: tos(0x10), want: true},
		{def: &tosMatch, args: "--tos 0x10", raw: tos(0x11), want: false},
		{def: &tosMatch, args: "--tos Minimize-Delay", raw: tos(0x11), want: false}, // mask 0x3f keeps the ECN bits
		{def: &tosMatch, args: "--tos Minimize-Delay", raw: tos(0xd0), want: true},  // ... but not the precedence
		{def: &tosMatch, args: "--tos 0x10/0xfc", raw: tos(0x13), want: true},
		{def: &tosMatch, args: "! --tos 0x10", raw: tos(0x10), want: false},
		{def: &tosMatch, args: "! --tos 0x10", raw: tos(0), want: true},
		{def: &tosMatch, args: "--tos 0x01/0x00", raw: tos(0), want: false}, // value outside the mask never matches
		{def: &dscpMatch, args: "--dscp 0x2e", raw: tos(0xb8), want: true},
		{def: &dscpMatch, args: "--dscp-class EF", raw: tos(0xbb), want: true}, // ECN bits ignored
		{def: &dscpMatch, args: "--dscp 0", raw: tos(0x03), want: true},
		{def: &dscpMatch, args: "! --dscp 0x2e", raw: tos(0xb8), want: false},
		{def: &dscpMatch, args: "! --dscp-class AF11", raw: tos(0xb8), want: true},
	})
}

func TestTCPMSSMatchPacket(t *testing.T) {
	mss := []byte{2, 4, 0x05, 0xb4} // 1460
	frag := packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoTCP, FragOffset: 3, PayloadLen: 40})
	shortFrag := packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoTCP, FragOffset: 3, PayloadLen: 12})
	// A fragment whose payload looks like a TCP header with an MSS option.
	fakeHdr := packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoTCP, FragOffset: 3, PayloadLen: 24})
	fakeHdr[20+12] = 6 << 4
	copy(fakeHdr[40:], mss)
	withOpts := mbTCP(mss)
	badDoff := append([]byte(nil), withOpts...)
	badDoff[20+12] = 4 << 4
	mbRun(t, []mbCase{
		{def: &tcpmssMatch, proto: 6, args: "--mss 1460", raw: withOpts, want: true},
		{def: &tcpmssMatch, proto: 6, args: "--mss 1000:1500", raw: withOpts, want: true},
		{def: &tcpmssMatch, proto: 6, args: "--mss 1461:65535", raw: withOpts, want: false},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: withOpts, want: false},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 536", raw: withOpts, want: true},
		// No options at all: only the inverted rule matches.
		{def: &tcpmssMatch, proto: 6, args: "--mss 0:65535", raw: mbTCP(nil), want: false},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: mbTCP(nil), want: true},
		// NOPs, and an end-of-list the kernel walks past.
		{def: &tcpmssMatch, proto: 6, args: "--mss 1460", raw: mbTCP([]byte{1, 1, 0, 0, 2, 4, 5, 0xb4}), want: true},
		// A zero length advances by one byte.
		{def: &tcpmssMatch, proto: 6, args: "--mss 1460", raw: mbTCP([]byte{3, 0, 2, 4, 5, 0xb4}), want: true},
		// Kind 2 with a length other than 4 is skipped by its length.
		{def: &tcpmssMatch, proto: 6, args: "--mss 1460", raw: mbTCP([]byte{2, 3, 5, 0xb4}), want: false},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: mbTCP([]byte{2, 3, 5, 0xb4}), want: true},
		// An MSS option cut by the end of the options is not read.
		{def: &tcpmssMatch, proto: 6, args: "--mss 0:65535", raw: mbTCP([]byte{1, 1, 2, 4}), want: false},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 0:65535", raw: mbTCP([]byte{1, 1, 2, 4}), want: true},
		{def: &tcpmssMatch, proto: 6, args: "--mss 1460", raw: mbTCP([]byte{1, 1, 1, 2, 4, 5, 0xb4}), want: true},
		// Malformed: header cut, data offset below 5, options cut.
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: mbTrunc(withOpts, 30), want: false, hotdrop: true},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: badDoff, want: false, hotdrop: true},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: mbTrunc(withOpts, 42), want: false, hotdrop: true},
		// No fragment check: a later fragment's payload is read as a TCP
		// header (zeros: data offset 0, dropped) ...
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: frag, want: false, hotdrop: true},
		{def: &tcpmssMatch, proto: 6, args: "! --mss 1460", raw: shortFrag, want: false, hotdrop: true},
		// ... and matched when it looks like one.
		{def: &tcpmssMatch, proto: 6, args: "--mss 1460", raw: fakeHdr, want: true},
	})
}

func TestOwnerMatchPacket(t *testing.T) {
	oldU, oldG := LookupUser, LookupGroup
	defer func() { LookupUser, LookupGroup = oldU, oldG }()
	LookupUser = func(string) (uint32, bool) { return 0, false }
	LookupGroup = func(string) (uint32, bool) { return 0, false }
	raw := mbUDP("x")
	user := func(p *Pkt) { p.Sock = &Sock{UID: 1000, GID: 1000, Groups: []uint32{24, 27}} }
	root := func(p *Pkt) { p.Sock = &Sock{} }
	mbRun(t, []mbCase{
		// No socket: only rules whose every option is inverted match.
		{def: &ownerMatch, args: "--socket-exists", raw: raw, want: false},
		{def: &ownerMatch, args: "! --socket-exists", raw: raw, want: true},
		{def: &ownerMatch, args: "--uid-owner 0", raw: raw, want: false},
		{def: &ownerMatch, args: "! --uid-owner 0", raw: raw, want: true},
		{def: &ownerMatch, args: "! --uid-owner 0 --gid-owner 0", raw: raw, want: false},
		{def: &ownerMatch, args: "! --uid-owner 0 ! --gid-owner 0 ! --socket-exists", raw: raw, want: true},
		{def: &ownerMatch, args: "! --gid-owner 0 --suppl-groups", raw: raw, want: false},
		// A socket.
		{def: &ownerMatch, args: "--socket-exists", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "! --socket-exists", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "! --socket-exists ! --uid-owner 0", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "--uid-owner 1000", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "--uid-owner 500-1000", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "--uid-owner 0-999", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "! --uid-owner 0", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "! --uid-owner 0", raw: raw, setup: root, want: false},
		{def: &ownerMatch, args: "--uid-owner 0", raw: raw, setup: root, want: true},
		{def: &ownerMatch, args: "--gid-owner 1000", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "--gid-owner 27", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "--gid-owner 27 --suppl-groups", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "--gid-owner 25-26 --suppl-groups", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "! --gid-owner 27 --suppl-groups", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "! --gid-owner 27", raw: raw, setup: user, want: true},
		{def: &ownerMatch, args: "--uid-owner 1000 --gid-owner 0", raw: raw, setup: user, want: false},
		{def: &ownerMatch, args: "--uid-owner 1000 ! --gid-owner 0 --socket-exists", raw: raw, setup: user, want: true},
	})
}

func TestStringMatchPacket(t *testing.T) {
	http := mbUDP("GET /Index.html HTTP/1.1")
	latin := mbUDP("caf\xc9 \xff\xdf")
	nonFirst := packet.Build(&packet.Spec{Src: mbSrc, Dst: mbDst, Proto: packet.ProtoUDP, FragOffset: 10, PayloadLen: 8})
	copy(nonFirst[20:], "password")
	var cases []mbCase
	for _, algo := range []string{"bm", "kmp"} {
		a := "--algo " + algo + " "
		cases = append(cases,
			mbCase{def: &stringMatch, args: a + "--string Index", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "--string index", raw: http, want: false},
			mbCase{def: &stringMatch, args: a + "--string index --icase", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "--string INDEX.HTML --icase", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "! --string Index", raw: http, want: false},
			mbCase{def: &stringMatch, args: a + "! --string nothere", raw: http, want: true},
			// Offsets count from the IP header: the payload starts at 28.
			mbCase{def: &stringMatch, args: a + "--string GET --to 30", raw: http, want: false},
			mbCase{def: &stringMatch, args: a + "--string GET --to 31", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "--string GET --from 28 --to 31", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "--string GET --from 29", raw: http, want: false},
			mbCase{def: &stringMatch, args: a + "--string HTTP --from 40", raw: http, want: true},
			// --from == --to searches nothing; --from past the end too.
			mbCase{def: &stringMatch, args: a + "! --string GET --from 28 --to 28", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "! --string GET --from 1000", raw: http, want: true},
			// The IP and UDP headers are searched too.
			mbCase{def: &stringMatch, args: a + "--hex-string |0a000001|", raw: http, want: true},
			mbCase{def: &stringMatch, args: a + "--hex-string |0a000001| --from 13", raw: http, want: false},
			mbCase{def: &stringMatch, args: a + "--hex-string |9c400050|", raw: http, want: true}, // ports 40000, 80
			// Fragments are searched like any packet.
			mbCase{def: &stringMatch, args: a + "--string password", raw: nonFirst, want: true},
			// --icase uses the kernel's Latin-1 ctype: é matches É; ÿ
			// upper-cases to ß (0xdf), and ß to 0xbf.
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |e9| --icase", raw: latin, want: true},
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |c9| --icase", raw: latin, want: true},
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |20ff| --icase", raw: latin, want: true},
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |ffff| --icase", raw: latin, want: false},
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |dfdf| --icase", raw: latin, want: false},
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |bfbf| --icase", raw: latin, want: false},
			// Found by KMP; Boyer-Moore, reading ÿ under the pattern's
			// last byte, shifts by the bad-character entry of 0xff (the
			// pattern length: only 0xdf's entry is set) and skips it.
			mbCase{def: &stringMatch, args: a + "--from 28 --hex-string |ffbf| --icase", raw: latin, want: algo == "kmp"},
		)
	}
	// ts_fsm: 4-byte tokens {type u16 little endian, recur, value}.
	tok := func(typ uint16, recur, value byte) string {
		return hex.EncodeToString([]byte{byte(typ), byte(typ >> 8), recur, value})
	}
	get := tok(0, fsmSingle, 'G') + tok(0, fsmSingle, 'E') + tok(0, fsmSingle, 'T')
	cases = append(cases,
		// Anchored at --from, and must reach the end of the data unless
		// it ends in "any"/"multi".
		mbCase{def: &stringMatch, args: "--algo fsm --from 28 --hex-string |" + get + tok(1, fsmAny, 0) + "|", raw: http, want: true},
		mbCase{def: &stringMatch, args: "--algo fsm --from 28 --hex-string |" + get + "|", raw: http, want: false},
		mbCase{def: &stringMatch, args: "--algo fsm --hex-string |" + get + tok(1, fsmAny, 0) + "|", raw: http, want: false},
		// A head-ignore token skips the headers; patlen is 4 bytes per
		// token, checked against --to.
		mbCase{def: &stringMatch, args: "--algo fsm --hex-string |" + tok(1, fsmHeadIgnore, 0) + get + tok(1, fsmAny, 0) + "|", raw: http, want: true},
		mbCase{def: &stringMatch, args: "--algo fsm --to 47 --hex-string |" + tok(1, fsmHeadIgnore, 0) + get + tok(1, fsmAny, 0) + "|", raw: http, want: false},
		mbCase{def: &stringMatch, args: "--algo fsm --to 48 --hex-string |" + tok(1, fsmHeadIgnore, 0) + get + tok(1, fsmAny, 0) + "|", raw: http, want: true},
		// Classes at "HTTP/1.1" (offset 44): upper-case letters, digits,
		// punctuation; "perhaps" tokens.
		mbCase{def: &stringMatch, args: "--algo fsm --from 44 --hex-string |" + tok(0, fsmSingle, 'H') + tok(11, fsmMulti, 0) + tok(0, fsmSingle, '/') + tok(2, fsmMulti, 0) + tok(0, fsmSingle, '.') + tok(2, fsmMulti, 0) + "|", raw: http, want: true},
		mbCase{def: &stringMatch, args: "--algo fsm --from 44 --hex-string |" + tok(0, fsmSingle, 'H') + tok(10, fsmMulti, 0) + tok(0, fsmSingle, '/') + tok(2, fsmMulti, 0) + tok(0, fsmSingle, '.') + tok(2, fsmMulti, 0) + "|", raw: http, want: false},
		mbCase{def: &stringMatch, args: "--algo fsm --from 44 --hex-string |" + tok(0, fsmSingle, 'H') + tok(11, fsmMulti, 0) + tok(0, fsmSingle, '/') + tok(0, fsmSingle, '1') + tok(0, fsmPerhaps, '-') + tok(12, fsmPerhaps, 0) + tok(2, fsmAny, 0) + tok(2, fsmSingle, 0) + "|", raw: http, want: true},
	)
	mbRun(t, cases)
}

// mbNaiveFind is the first occurrence of pat in text, comparing bytes
// upper-cased with the kernel's toupper when icase.
func mbNaiveFind(text, pat []byte, icase bool) int {
	for i := 0; i+len(pat) <= len(text); i++ {
		j := 0
		for ; j < len(pat); j++ {
			a, b := text[i+j], pat[j]
			if icase {
				a, b = ktoupper[a], ktoupper[b]
			}
			if a != b {
				break
			}
		}
		if j == len(pat) {
			return i
		}
	}
	return -1
}

// TestStringSearchRandom checks Boyer-Moore and KMP against a plain
// search over random texts from small alphabets (where shifts matter):
// KMP always finds the first occurrence; so does the kernel's
// Boyer-Moore for ASCII (its bad-character table covers a pattern byte
// and its lower case, which for Latin-1 letters whose case pairs are not
// symmetric, ÿ/ß, is not enough).
func TestStringSearchRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, alpha := range []string{"ab", "abc", "aAbB", "xyzXYZ."} {
		for n := 0; n < 3000; n++ {
			pat := make([]byte, 1+r.Intn(6))
			for i := range pat {
				pat[i] = alpha[r.Intn(len(alpha))]
			}
			text := make([]byte, r.Intn(40))
			for i := range text {
				text[i] = alpha[r.Intn(len(alpha))]
			}
			icase := r.Intn(2) == 0
			for _, algo := range []string{"bm", "kmp"} {
				st := &String{Algo: algo, Pattern: pat, ToOffset: 0xFFFF}
				if icase {
					st.Flags |= StringFlagIgnoreCase
				}
				st.prepare()
				var got int
				if algo == "bm" {
					got = st.ts.bmFind(text)
				} else {
					got = st.ts.kmpFind(text)
				}
				if want := mbNaiveFind(text, pat, icase); got != want {
					t.Fatalf("%s %q in %q icase %v: %d, want %d", algo, pat, text, icase, got, want)
				}
			}
		}
	}
}

// TestStringBMLatin1Quirk: the Boyer-Moore bad-character table is indexed
// by the raw text byte, and holds a pattern byte upper-cased and that
// lower-cased again; ÿ (0xff) upper-cases to 0xdf, which does not
// lower-case back, so a ÿ in the text under the pattern's last byte
// shifts by the whole pattern and a match is skipped. KMP finds it.
func TestStringBMLatin1Quirk(t *testing.T) {
	st := &String{Algo: "bm", Pattern: []byte("x\xff"), Flags: StringFlagIgnoreCase, ToOffset: 0xFFFF}
	st.prepare()
	if st.ts.badShift[0xff] != 2 || st.ts.badShift[0xdf] != 2 || st.ts.badShift['x'] != 1 || st.ts.badShift['X'] != 1 {
		t.Fatalf("bad shift table: ff %d df %d x %d X %d", st.ts.badShift[0xff], st.ts.badShift[0xdf], st.ts.badShift['x'], st.ts.badShift['X'])
	}
	// Pattern "ÿa" (upper "ßA"): text "ÿÿa" has it at 1. BM at shift 1
	// compares text[1]=ÿ with A, mismatch, bad shift of 0xff is 2 (not
	// 1 as 0xdf's would be): next shift 3 is past the end.
	st = &String{Algo: "bm", Pattern: []byte("\xffa"), Flags: StringFlagIgnoreCase, ToOffset: 0xFFFF}
	st.prepare()
	text := []byte("\xff\xffa")
	if got := st.ts.bmFind(text); got != -1 {
		t.Fatalf("bm ÿa in ÿÿa: %d, want the kernel's miss (-1)", got)
	}
	st.Algo = "kmp"
	st.prepare()
	if got := st.ts.kmpFind(text); got != 1 {
		t.Fatalf("kmp ÿa in ÿÿa: %d, want 1", got)
	}
}

func TestKernelCtype(t *testing.T) {
	// Spot checks of lib/ctype.c and ts_fsm's token_lookup_tbl.
	for c, want := range map[byte]byte{'a': 'A', 'z': 'Z', 'A': 'A', '1': '1', 0xe0: 0xc0, 0xf7: 0xf7, 0xff: 0xdf, 0xdf: 0xbf, 0xb5: 0xb5} {
		if ktoupper[c] != want {
			t.Errorf("toupper(%#x) = %#x, want %#x", c, ktoupper[c], want)
		}
	}
	for c, want := range map[byte]byte{'A': 'a', 0xc0: 0xe0, 0xd7: 0xd7, 0xde: 0xfe, 0xdf: 0xdf} {
		if ktolower[c] != want {
			t.Errorf("tolower(%#x) = %#x, want %#x", c, ktolower[c], want)
		}
	}
	for c, want := range map[int]uint16{0: kcW | kcA | kcC, 9: kcW | kcA | kcC | kcS, 32: kcW | kcA | kcS | kcSP, 'a': kcW | kcA | kcL | kcX, 'g': kcW | kcA | kcL, 128: kcW, 160: kcW | kcS | kcSP, 215: kcW | kcP, 223: kcW | kcL, 255: kcW | kcL} {
		if fsmClass[c] != want {
			t.Errorf("fsm class %d = %#x, want %#x", c, fsmClass[c], want)
		}
	}
}

// mbAt is a packet received at the given UTC time.
func mbAt(s string) func(p *Pkt) {
	tm, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return func(p *Pkt) { p.Time = tm.UnixNano() + 123456789 }
}

func mbTZ(minutesWest int) func(p *Pkt) {
	return func(p *Pkt) { p.Env = &Env{TZMinutesWest: minutesWest} }
}

func TestTimeMatchPacket(t *testing.T) {
	raw := mbUDP("x")
	both := func(f, g func(p *Pkt)) func(p *Pkt) { return func(p *Pkt) { f(p); g(p) } }
	mbRun(t, []mbCase{
		{def: &timeMatch, args: "", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: true},
		{def: &timeMatch, args: "", raw: raw, setup: mbAt("1970-01-01 00:00:00"), want: true},
		// The default stop date is INT_MAX (2038-01-19T03:14:07).
		{def: &timeMatch, args: "", raw: raw, setup: mbAt("2038-01-19 03:14:07"), want: true},
		{def: &timeMatch, args: "", raw: raw, setup: mbAt("2038-01-19 03:14:08"), want: false},
		{def: &timeMatch, args: "--datestop 2038-12-31T23:59:59", raw: raw, setup: mbAt("2038-06-01 00:00:00"), want: true},
		// Dates: inclusive, whole seconds.
		{def: &timeMatch, args: "--datestart 2024-01-15T12:00:00", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: true},
		{def: &timeMatch, args: "--datestart 2024-01-15T12:00:01", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: false},
		{def: &timeMatch, args: "--datestop 2024-01-15T12:00:00", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: true},
		{def: &timeMatch, args: "--datestop 2024-01-15T11:59:59", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: false},
		{def: &timeMatch, args: "--datestop 1970-01-01", raw: raw, setup: mbAt("1970-01-01 00:00:00"), want: true},
		{def: &timeMatch, args: "--datestop 1970-01-01", raw: raw, setup: mbAt("1970-01-01 00:00:01"), want: false},
		// Time of day.
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: true},
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00", raw: raw, setup: mbAt("2024-01-15 17:00:00"), want: true},
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00", raw: raw, setup: mbAt("2024-01-15 17:00:01"), want: false},
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00", raw: raw, setup: mbAt("2024-01-15 07:59:59"), want: false},
		// --kerneltz: sys_tz minutes west (-60 is UTC+1).
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00 --kerneltz", raw: raw, setup: both(mbAt("2024-01-15 16:30:00"), mbTZ(-60)), want: false},
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00 --kerneltz", raw: raw, setup: both(mbAt("2024-01-15 07:30:00"), mbTZ(-60)), want: true},
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00", raw: raw, setup: both(mbAt("2024-01-15 16:30:00"), mbTZ(-60)), want: true},
		{def: &timeMatch, args: "--timestart 08:00 --timestop 17:00 --kerneltz", raw: raw, setup: mbAt("2024-01-15 16:30:00"), want: true}, // no Env: UTC
		// The date range is checked on the shifted time too.
		{def: &timeMatch, args: "--kerneltz", raw: raw, setup: both(mbAt("1970-01-01 00:30:00"), mbTZ(60)), want: false},
		// Wrapping past midnight.
		{def: &timeMatch, args: "--timestart 22:00 --timestop 02:00", raw: raw, setup: mbAt("2024-01-15 23:00:00"), want: true},
		{def: &timeMatch, args: "--timestart 22:00 --timestop 02:00", raw: raw, setup: mbAt("2024-01-15 01:00:00"), want: true},
		{def: &timeMatch, args: "--timestart 22:00 --timestop 02:00", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: false},
		{def: &timeMatch, args: "--timestart 12:00 --timestop 12:00", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: true},
		// start == stop takes the wrapping branch, which then rejects
		// nothing: every time of day matches.
		{def: &timeMatch, args: "--timestart 12:00 --timestop 12:00", raw: raw, setup: mbAt("2024-01-15 13:00:00"), want: true},
		// Weekdays: 2024-01-15 is a Monday, 1970-01-01 a Thursday.
		{def: &timeMatch, args: "--weekdays Mon", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: true},
		{def: &timeMatch, args: "--weekdays Tue,Sun", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: false},
		{def: &timeMatch, args: "! --weekdays Mon", raw: raw, setup: mbAt("2024-01-15 12:00:00"), want: false},
		{def: &timeMatch, args: "--weekdays 7", raw: raw, setup: mbAt("2024-01-14 23:59:59"), want: true},
		{def: &timeMatch, args: "--weekdays Thu", raw: raw, setup: mbAt("1970-01-01 00:00:00"), want: true},
		// --contiguous: after midnight counts as the day before.
		{def: &timeMatch, args: "--weekdays Mon --timestart 22:00 --timestop 02:00 --contiguous", raw: raw, setup: mbAt("2024-01-16 01:00:00"), want: true},
		{def: &timeMatch, args: "--weekdays Mon --timestart 22:00 --timestop 02:00 --contiguous", raw: raw, setup: mbAt("2024-01-15 01:00:00"), want: false},
		{def: &timeMatch, args: "--weekdays Mon --timestart 22:00 --timestop 02:00 --contiguous", raw: raw, setup: mbAt("2024-01-15 23:00:00"), want: true},
		{def: &timeMatch, args: "--weekdays Mon --timestart 22:00 --timestop 02:00", raw: raw, setup: mbAt("2024-01-16 01:00:00"), want: false},
		{def: &timeMatch, args: "--weekdays Mon --timestart 22:00 --timestop 02:00", raw: raw, setup: mbAt("2024-01-15 01:00:00"), want: true},
		{def: &timeMatch, args: "--monthdays 31 --timestart 22:00 --timestop 02:00 --contiguous", raw: raw, setup: mbAt("2024-02-01 00:30:00"), want: true},
		// Month days.
		{def: &timeMatch, args: "--monthdays 29", raw: raw, setup: mbAt("2024-02-29 12:00:00"), want: true},
		{def: &timeMatch, args: "--monthdays 1", raw: raw, setup: mbAt("2023-03-01 00:00:00"), want: true},
		{def: &timeMatch, args: "--monthdays 31", raw: raw, setup: mbAt("2000-12-31 23:59:59"), want: true},
		{def: &timeMatch, args: "! --monthdays 31", raw: raw, setup: mbAt("2000-12-31 23:59:59"), want: false},
		{def: &timeMatch, args: "--monthdays 0", raw: raw, setup: mbAt("2000-12-31 23:59:59"), want: false},
		{def: &timeMatch, args: "--weekdays 8", raw: raw, setup: mbAt("2000-12-31 23:59:59"), want: false},
	})
}

// The kernel's days_since_epoch table, verbatim.
var mbKernelDSE = []uint32{
	25202, 24837, 24472, 24106, 23741, 23376, 23011, 22645, 22280, 21915,
	21550, 21184, 20819, 20454, 20089, 19723, 19358, 18993, 18628, 18262,
	17897, 17532, 17167, 16801, 16436, 16071, 15706, 15340, 14975, 14610,
	14245, 13879, 13514, 13149, 12784, 12418, 12053, 11688, 11323, 10957,
	10592, 10227, 9862, 9496, 9131, 8766, 8401, 8035, 7670, 7305,
	6940, 6574, 6209, 5844, 5479, 5113, 4748, 4383, 4018, 3652,
	3287, 2922, 2557, 2191, 1826, 1461, 1096, 730, 365, 0,
}

// TestTimeCalendar compares the kernel's weekday and month day with Go's
// calendar over every day from 1970 to 2038, and the quirk of
// --contiguous just after the epoch (the day before 1970-01-01 is
// computed from a wrapped unsigned day count).
func TestTimeCalendar(t *testing.T) {
	for i, v := range mbKernelDSE {
		if timeDaysSinceEpoch[i] != v {
			t.Fatalf("days_since_epoch[%d] = %d, want %d", i, timeDaysSinceEpoch[i], v)
		}
	}
	for dse := uint32(0); dse < 25567; dse++ { // to 2039-12-31
		tm := time.Unix(int64(dse)*86400, 0).UTC()
		if got := timeMonthday(dse); int(got) != tm.Day() {
			t.Fatalf("%s: month day %d", tm.Format("2006-01-02"), got)
		}
		wd := int(tm.Weekday())
		if wd == 0 {
			wd = 7
		}
		if got := (4+dse-1)%7 + 1; int(got) != wd {
			t.Fatalf("%s: weekday %d", tm.Format("2006-01-02"), got)
		}
	}
	// 1970-01-01 01:00 with --contiguous and a range to 02:00: stamp
	// -82800 as u64 / 86400, truncated to u32, gives this weekday.
	stamp := int64(3600 - 86400)
	dse := uint32(uint64(stamp) / 86400)
	wd := (4+dse-1)%7 + 1
	var days []string
	for d := 1; d <= 7; d++ {
		args := "--weekdays " + weekDays[d] + " --timestart 23:00 --timestop 02:00 --contiguous"
		m := mbMatcher(t, &timeMatch, 0, args)
		p := mbPkt(t, mbUDP("x"))
		mbAt("1970-01-01 01:00:00")(p)
		if m.Match(p) {
			days = append(days, weekDays[d])
		}
	}
	if len(days) != 1 || days[0] != weekDays[wd] {
		t.Fatalf("contiguous before the epoch matched %v, want [%s]", days, weekDays[wd])
	}
}

func TestTimeStoreSaveRoundTrip(t *testing.T) {
	for _, c := range []struct {
		args  string
		lossy bool // Save alone would lose something
	}{
		{"--datestop 1970-01-01", true},
		{"--datestart 1970-01-01T00:00:01 --datestop 1970-01-01T00:00:01", false},
		{"--weekdays 32", true},
		{"--weekdays 8", true},
		{"--weekdays Mon,32,Sun", true},
		{"--monthdays 0", true},
		{"--monthdays 0,5,31", true},
		{"! --monthdays 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31", true},
		{"! --monthdays 0", true},
		{"! --monthdays 5", false},
		{"--timestart 23:00 --timestop 01:00 --contiguous --kerneltz", false},
		{"--timestart 00:00 --timestop 23:59:59 --weekdays Tue", false},
	} {
		in, err := parseExt(t, &timeMatch, 0, strings.Fields(c.args))
		if err != nil {
			t.Fatalf("%s: %v", c.args, err)
		}
		var b strings.Builder
		in.Ext.(StoreSaver).StoreSave(&b, &Ctx{})
		in2, err := parseExt(t, &timeMatch, 0, strings.Fields(b.String()))
		if err != nil {
			t.Fatalf("%s: stored as %q: %v", c.args, b.String(), err)
		}
		if *in.Ext.(*Time) != *in2.Ext.(*Time) {
			t.Errorf("%s: stored as %q reads back as %+v, want %+v", c.args, b.String(), *in2.Ext.(*Time), *in.Ext.(*Time))
		}
		var s strings.Builder
		in.Ext.Save(&s, &Ctx{})
		if (s.String() != b.String()) != c.lossy {
			t.Errorf("%s: StoreSave %q, Save %q (lossy %v)", c.args, b.String(), s.String(), c.lossy)
		}
	}
}

func TestTimeWarnings(t *testing.T) {
	var got []string
	run := func(args ...string) error {
		in := NewInstance(&timeMatch)
		next := 0
		c := NewCtx(args, &next)
		c.Warn = func(m string) { got = append(got, m) }
		for next < len(args) {
			name := strings.TrimPrefix(args[next], "--")
			next++
			for i := range timeMatch.Options {
				if timeMatch.Options[i].Name != name {
					continue
				}
				arg := ""
				if timeMatch.Options[i].Arg {
					arg = args[next]
					next++
				}
				if err := in.ParseOption(c, i, arg, timeMatch.Options[i].Arg, false); err != nil {
					return err
				}
			}
		}
		return in.Final(c)
	}
	if err := run("--localtz"); err != nil {
		t.Fatal(err)
	}
	err := run("--datestart", "1970-01-00")
	if e, ok := err.(*Error); !ok || e.Status != OtherProblem || e.Msg != "mktime returned an error" {
		t.Fatalf("1970-01-00: %v", err)
	}
	want := []string{
		`WARNING: --localtz is being replaced by --kerneltz, since "local" is ambiguous. Note the kernel timezone has caveats - see manpage for details.`,
		"mktime: No such file or directory",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings %q, want %q", got, want)
	}
}

func TestAddrtypeMatchPacket(t *testing.T) {
	const local, bcast = 0x0a000002, 0x0a0000ff
	env := &Env{AddrType: func(addr uint32, dev string) uint8 {
		switch {
		case addr == local && (dev == "" || dev == "eth0"):
			return RTNLocal
		case addr == bcast && (dev == "" || dev == "eth0"):
			return RTNBroadcast
		case addr == 0x0a0000fe:
			return RTNBlackhole
		}
		return RTNUnicast
	}}
	pkt := func(src, dst uint32) []byte {
		return packet.Build(&packet.Spec{Src: src, Dst: dst, Proto: packet.ProtoUDP, SrcPort: 68, DstPort: 67})
	}
	in := func(dev string) func(p *Pkt) {
		return func(p *Pkt) { p.Env, p.InIface, p.OutIface = env, dev, "eth9" }
	}
	withEnv := in("eth0")
	mbRun(t, []mbCase{
		{def: &addrtypeMatch, args: "--dst-type LOCAL", raw: pkt(mbSrc, local), setup: withEnv, want: true},
		{def: &addrtypeMatch, args: "--dst-type LOCAL", raw: pkt(mbSrc, 0x08080808), setup: withEnv, want: false},
		{def: &addrtypeMatch, args: "--dst-type LOCAL,BROADCAST", raw: pkt(mbSrc, bcast), setup: withEnv, want: true},
		{def: &addrtypeMatch, args: "! --dst-type LOCAL", raw: pkt(mbSrc, local), setup: withEnv, want: false},
		{def: &addrtypeMatch, args: "--src-type UNICAST --dst-type LOCAL", raw: pkt(mbSrc, local), setup: withEnv, want: true},
		{def: &addrtypeMatch, args: "! --src-type UNICAST --dst-type LOCAL", raw: pkt(mbSrc, local), setup: withEnv, want: false},
		{def: &addrtypeMatch, args: "--dst-type BLACKHOLE", raw: pkt(mbSrc, 0x0a0000fe), setup: withEnv, want: true},
		// By address class, whatever the routes say.
		{def: &addrtypeMatch, args: "--src-type BROADCAST", raw: pkt(0, 0xffffffff), setup: withEnv, want: true},
		{def: &addrtypeMatch, args: "--src-type BROADCAST --dst-type BROADCAST", raw: pkt(0x00010203, 0xffffffff), want: true},
		{def: &addrtypeMatch, args: "--dst-type MULTICAST", raw: pkt(mbSrc, 0xe0000001), setup: withEnv, want: true},
		{def: &addrtypeMatch, args: "--dst-type MULTICAST", raw: pkt(mbSrc, 0xefffffff), want: true},
		// --limit-iface-in looks the address up on the input device only.
		{def: &addrtypeMatch, args: "--dst-type LOCAL --limit-iface-in", raw: pkt(mbSrc, local), setup: in("eth0"), want: true},
		{def: &addrtypeMatch, args: "--dst-type LOCAL --limit-iface-in", raw: pkt(mbSrc, local), setup: in("eth1"), want: false},
		{def: &addrtypeMatch, args: "--dst-type LOCAL --limit-iface-out", raw: pkt(mbSrc, local), setup: in("eth0"), want: false},
		// No Env: a host without routes; everything else is UNICAST.
		{def: &addrtypeMatch, args: "--dst-type UNICAST", raw: pkt(mbSrc, local), want: true},
		{def: &addrtypeMatch, args: "--dst-type LOCAL", raw: pkt(mbSrc, 0x7f000001), want: false},
		{def: &addrtypeMatch, args: "! --dst-type LOCAL", raw: pkt(mbSrc, 0x7f000001), want: true},
	})
	// The destination is not looked up when the source part failed.
	calls := 0
	counting := &Env{AddrType: func(addr uint32, dev string) uint8 { calls++; return RTNUnicast }}
	m := mbMatcher(t, &addrtypeMatch, 0, "--src-type LOCAL --dst-type UNICAST")
	p := mbPkt(t, pkt(mbSrc, mbDst))
	p.Env = counting
	if m.Match(p) || calls != 1 {
		t.Fatalf("match with a failed source: calls %d", calls)
	}
}

func TestStatisticMatchPacket(t *testing.T) {
	raw := mbUDP("x")
	seq := func(vals ...uint32) *Env {
		i := 0
		return &Env{Rand: func() uint32 { v := vals[i%len(vals)]; i++; return v }}
	}
	draws := []uint32{0x3FFFFFFF, 0x40000000, 0xC0000000, 0x80000001, 0, 0xFFFFFFFF}
	for _, c := range []struct {
		args string
		env  *Env
		want string
	}{
		{"--mode random --probability 0.5", seq(draws...), "TFFTTF"},
		{"--mode random ! --probability 0.5", seq(draws...), "FTTFFT"},
		{"--mode random --probability 1", seq(draws...), "TTTTTT"},
		{"--mode random --probability 0", seq(draws...), "FFFFFF"},
		{"--mode random --probability 1", nil, "TTT"},
		{"--mode random --probability 0.99999999", nil, "FFF"},
		{"--mode random ! --probability 0.99999999", nil, "TTT"},
		{"--mode nth --every 3 --packet 0", nil, "TFFTFFTFF"},
		{"--mode nth --every 3 --packet 2", nil, "FFTFFTFFT"},
		{"--mode nth --every 3 --packet 1", nil, "FTFFTFFTF"},
		{"--mode nth ! --every 3 --packet 1", nil, "TFTTFTTFT"},
		{"--mode nth --every 1 --packet 0", nil, "TTTT"},
	} {
		m := mbMatcher(t, &statisticMatch, 0, c.args)
		var got []byte
		for range c.want {
			p := mbPkt(t, raw)
			p.Env = c.env
			if m.Match(p) {
				got = append(got, 'T')
			} else {
				got = append(got, 'F')
			}
		}
		if string(got) != c.want {
			t.Errorf("%s: %s, want %s", c.args, got, c.want)
		}
	}
	// The nth counter is shared by concurrent packets and never loses a
	// step.
	m := mbMatcher(t, &statisticMatch, 0, "--mode nth --every 7 --packet 3")
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &Pkt{}
			p.Decode(raw)
			n := 0
			for i := 0; i < 7000; i++ {
				if m.Match(p) {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 8*1000 {
		t.Fatalf("nth over 56000 packets matched %d times, want 8000", total)
	}
}

func TestMatchesBPacketNoAllocs(t *testing.T) {
	oldU, oldG := LookupUser, LookupGroup
	defer func() { LookupUser, LookupGroup = oldU, oldG }()
	LookupUser = func(string) (uint32, bool) { return 0, false }
	LookupGroup = func(string) (uint32, bool) { return 0, false }
	env := &Env{
		Rand:          func() uint32 { return 12345 },
		AddrType:      func(addr uint32, dev string) uint8 { return RTNLocal },
		TZMinutesWest: -120,
	}
	sock := &Sock{UID: 1000, GID: 1000, Groups: []uint32{1, 2, 3}}
	text := mbUDP(strings.Repeat("abcabd", 40) + "needle")
	tcp := mbTCP([]byte{1, 1, 2, 4, 5, 0xb4})
	for _, c := range []struct {
		def   *Def
		proto uint8
		args  string
		raw   []byte
	}{
		{&tosMatch, 0, "--tos 0x10", text},
		{&dscpMatch, 0, "--dscp 10", text},
		{&tcpmssMatch, 6, "--mss 1460", tcp},
		{&ownerMatch, 0, "--uid-owner 1000 --gid-owner 3 --suppl-groups", text},
		{&stringMatch, 0, "--algo bm --string needle --icase", text},
		{&stringMatch, 0, "--algo kmp --string abcabdn", text},
		{&stringMatch, 0, "--algo fsm --hex-string |010004000000006e0000006501000200|", text},
		{&timeMatch, 0, "--weekdays Mon,Tue --monthdays 1,2,3 --timestart 23:00 --timestop 03:00 --contiguous --kerneltz", text},
		{&addrtypeMatch, 0, "--src-type UNICAST --dst-type LOCAL --limit-iface-in", text},
		{&statisticMatch, 0, "--mode random --probability 0.3", text},
		{&statisticMatch, 0, "--mode nth --every 5 --packet 0", text},
	} {
		m := mbMatcher(t, c.def, c.proto, c.args)
		p := mbPkt(t, c.raw)
		p.Env, p.Sock, p.InIface, p.Time = env, sock, "eth0", 1705320000e9
		if n := testing.AllocsPerRun(200, func() { m.Match(p) }); n != 0 {
			t.Errorf("-m %s %s: %v allocations per packet", c.def.Name, c.args, n)
		}
	}
}

// TestKernelMatchesBPacket sends crafted packets (raw socket, so TOS,
// TCP options, payload and fragments are exactly as built here) from one
// namespace to another, counts them in the receiver's raw PREROUTING with
// one iptables-legacy rule per case (owner rules count in the sender's
// OUTPUT), and compares each rule's counter with what nfgo's Match says
// for the same packets in the same order (a hotdrop ends a packet's
// walk, as in the kernel).
func TestKernelMatchesBPacket(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("kernel comparison needs root, network namespaces and iptables-legacy: " + why)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("kernel comparison sends raw packets with python3")
	}
	a, b := netns.New(t), netns.New(t)
	if out, err := exec.Command("ip", "link", "add", "va", "netns", a.Name, "type", "veth", "peer", "name", "vb", "netns", b.Name).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	a.MustRun(t, "ip", "addr", "add", "10.79.0.1/24", "dev", "va")
	b.MustRun(t, "ip", "addr", "add", "10.79.0.2/24", "dev", "vb")
	a.MustRun(t, "ip", "link", "set", "va", "up")
	b.MustRun(t, "ip", "link", "set", "vb", "up")
	const src, dst = 0x0a4f0001, 0x0a4f0002

	start := time.Now().UTC()
	today := weekDays[(int(start.Weekday())+6)%7+1]
	tomorrow := weekDays[(int(start.Weekday())+7)%7+1]
	hm := func(d time.Duration) string { return start.Add(d).Format("15:04") }

	tok := func(typ uint16, recur, value byte) string {
		return hex.EncodeToString([]byte{byte(typ), byte(typ >> 8), recur, value})
	}
	get := tok(0, fsmSingle, 'G') + tok(0, fsmSingle, 'E') + tok(0, fsmSingle, 'T')
	type rule struct {
		proto uint8
		def   *Def
		args  string
	}
	pre := []rule{
		{0, &tosMatch, "--tos 0x10"},
		{0, &tosMatch, "--tos Minimize-Delay"},
		{0, &tosMatch, "! --tos 0x10/0xfc"},
		{0, &dscpMatch, "--dscp 0x2e"},
		{0, &dscpMatch, "! --dscp-class AF11"},
		{0, &stringMatch, "--algo bm --string GET --to 31"},
		{0, &stringMatch, "--algo kmp --string GET --to 30"},
		{0, &stringMatch, "--algo bm --string GET --from 28"},
		{0, &stringMatch, "--algo kmp --string GET --from 29"},
		{0, &stringMatch, "--algo bm --string index --icase"},
		{0, &stringMatch, "--algo kmp --string Index"},
		{0, &stringMatch, "--algo bm ! --string Index"},
		{0, &stringMatch, "--algo bm --hex-string |0a4f0001|"},
		{0, &stringMatch, "--algo kmp --hex-string |0a4f0001| --from 13"},
		{0, &stringMatch, "--algo bm --string password"},
		{0, &stringMatch, "--algo bm --from 28 --hex-string |e9| --icase"},
		{0, &stringMatch, "--algo kmp --from 28 --hex-string |20ff| --icase"},
		{0, &stringMatch, "--algo bm --from 28 --hex-string |20ff| --icase"},
		{0, &stringMatch, "--algo bm --from 28 --hex-string |ffbf| --icase"},
		{0, &stringMatch, "--algo kmp --from 28 --hex-string |ffbf| --icase"},
		{0, &stringMatch, "--algo bm --from 28 --hex-string |dfdf| --icase"},
		{0, &stringMatch, "--algo fsm --from 28 --hex-string |" + get + tok(1, fsmAny, 0) + "|"},
		{0, &stringMatch, "--algo fsm --from 28 --hex-string |" + get + "|"},
		{0, &stringMatch, "--algo fsm --to 47 --hex-string |" + tok(1, fsmHeadIgnore, 0) + get + tok(1, fsmAny, 0) + "|"},
		{0, &stringMatch, "--algo fsm --to 48 --hex-string |" + tok(1, fsmHeadIgnore, 0) + get + tok(1, fsmAny, 0) + "|"},
		{0, &stringMatch, "--algo fsm --from 44 --hex-string |" + tok(0, fsmSingle, 'H') + tok(11, fsmMulti, 0) + tok(0, fsmSingle, '/') + tok(0, fsmSingle, '1') + tok(0, fsmPerhaps, '-') + tok(12, fsmPerhaps, 0) + tok(2, fsmAny, 0) + tok(2, fsmSingle, 0) + "|"},
		{0, &addrtypeMatch, "--dst-type LOCAL"},
		{0, &addrtypeMatch, "--src-type UNICAST --dst-type LOCAL --limit-iface-in"},
		{0, &addrtypeMatch, "! --src-type UNICAST"},
		{0, &addrtypeMatch, "--dst-type BROADCAST,MULTICAST"},
		{0, &statisticMatch, "--mode nth --every 3 --packet 1"},
		{0, &statisticMatch, "--mode nth ! --every 4 --packet 0"},
		{0, &statisticMatch, "--mode random --probability 1"},
		{0, &statisticMatch, "--mode random --probability 0"},
		{0, &timeMatch, "--weekdays " + today},
		{0, &timeMatch, "--weekdays " + tomorrow},
		{0, &timeMatch, "! --monthdays " + strconv.Itoa(start.Day())},
		{0, &timeMatch, "--monthdays " + strconv.Itoa(start.Day()) + " --timestart " + hm(-2*time.Hour) + " --timestop " + hm(2*time.Hour)},
		{0, &timeMatch, "--timestart " + hm(2*time.Hour) + " --timestop " + hm(3*time.Hour)},
		{0, &timeMatch, "--datestart " + start.Add(-48*time.Hour).Format("2006-01-02")},
		{0, &timeMatch, "--datestop " + start.Add(-48*time.Hour).Format("2006-01-02")},
		{6, &tcpmssMatch, "--mss 1460"},
		{6, &tcpmssMatch, "! --mss 1460"},
		{6, &tcpmssMatch, "--mss 0:1000"},
	}
	out := []rule{
		{0, &ownerMatch, "--uid-owner 0"},
		{0, &ownerMatch, "! --uid-owner 0"},
		{0, &ownerMatch, "--socket-exists"},
		{0, &ownerMatch, "! --socket-exists"},
		{0, &ownerMatch, "--gid-owner 0 --uid-owner 0-10"},
		{0, &ownerMatch, "--uid-owner 1000"},
	}
	add := func(ns *netns.NS, chain string, rs []rule) []Matcher {
		ms := make([]Matcher, len(rs))
		for i, r := range rs {
			ms[i] = mbMatcher(t, r.def, r.proto, r.args)
			args := []string{"iptables-legacy", "-t", "raw", "-A", chain}
			if chain == "PREROUTING" {
				args = append(args, "-s", "10.79.0.1")
			} else {
				args = append(args, "-d", "10.79.0.2")
			}
			if r.proto != 0 {
				args = append(args, "-p", strconv.Itoa(int(r.proto)))
			}
			ns.MustRun(t, append(append(args, "-m", r.def.Name), strings.Fields(r.args)...)...)
		}
		return ms
	}
	preM := add(b, "PREROUTING", pre)
	outM := add(a, "OUTPUT", out)

	id := uint16(0x4000)
	mk := func(s packet.Spec, payload string) []byte {
		id++
		s.Src, s.Dst, s.ID, s.PayloadLen = src, dst, id, len(payload)
		if s.Proto == 0 {
			s.Proto = packet.ProtoUDP
		}
		if s.Proto == packet.ProtoUDP && s.SrcPort == 0 {
			s.SrcPort, s.DstPort = 40000, 9
		}
		raw := packet.Build(&s)
		copy(raw[len(raw)-len(payload):], payload)
		return raw
	}
	tcpSyn := packet.Spec{Proto: packet.ProtoTCP, SrcPort: 40001, DstPort: 9, TCPFlags: packet.TCPSyn}
	withMSS := tcpSyn
	withMSS.TCPOptions = []byte{1, 1, 0, 0, 2, 4, 5, 0xb4}
	lowMSS := tcpSyn
	lowMSS.TCPOptions = []byte{3, 0, 2, 4, 2, 0}
	badMSS := tcpSyn
	badMSS.TCPOptions = []byte{2, 3, 5, 0xb4}
	pkts := [][]byte{
		mk(packet.Spec{TOS: 0x10}, "GET /Index.html HTTP/1.1"),
		mk(packet.Spec{TOS: 0xb8}, "GET /index.html HTTP/1.1"),
		mk(packet.Spec{TOS: 0x2a}, "POST /password HTTP/1.0"),
		mk(packet.Spec{TOS: 0x13}, "caf\xc9 \xff\xdf"),
		mk(packet.Spec{}, "xx\xff\xbf"),
		mk(packet.Spec{}, "\xe9 \xff\xbf"),
		mk(packet.Spec{MF: true}, "GET /a"),
		mk(packet.Spec{FragOffset: 2}, "password........"),
		mk(tcpSyn, ""),
		mk(withMSS, ""),
		mk(lowMSS, ""),
		mk(badMSS, "GET "),
		mbTrunc(mk(withMSS, ""), 38), // options cut: dropped by tcpmss
		mk(packet.Spec{Proto: packet.ProtoTCP, FragOffset: 3}, "0123456789abcdefghijklmnop"),
		mk(packet.Spec{Proto: packet.ProtoICMP, ICMPType: 8, ICMPID: 7}, "ping"),
	}
	send := []string{"python3", "-c", "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\nfor h in sys.argv[1:]: s.sendto(bytes.fromhex(h),('10.79.0.2',0))"}
	for _, p := range pkts {
		send = append(send, hex.EncodeToString(p))
	}
	a.MustRun(t, "ip", "neigh", "replace", "10.79.0.2", "lladdr", "02:00:00:00:03:0b", "dev", "va")
	b.MustRun(t, "ip", "link", "set", "vb", "address", "02:00:00:00:03:0b")
	sentAt := time.Now()
	a.MustRun(t, send...)
	time.Sleep(300 * time.Millisecond)
	if end := time.Now().UTC(); end.Day() != start.Day() {
		t.Skip("the UTC day changed during the test")
	}

	env := &Env{AddrType: func(addr uint32, dev string) uint8 {
		switch {
		case addr == dst && (dev == "" || dev == "vb"):
			return RTNLocal
		case (addr == 0x0a4f00ff || addr == 0x0a4f0000) && (dev == "" || dev == "vb"):
			return RTNBroadcast
		}
		return RTNUnicast
	}}
	groups, _ := os.Getgroups()
	sock := &Sock{}
	for _, g := range groups {
		sock.Groups = append(sock.Groups, uint32(g))
	}
	run := func(ms []Matcher, rs []rule, setup func(p *Pkt)) []int {
		want := make([]int, len(rs))
		for _, raw := range pkts {
			p := &Pkt{}
			if err := p.Decode(raw); err != nil {
				t.Fatal(err)
			}
			setup(p)
			for i, r := range rs {
				if r.proto != 0 && r.proto != p.Proto {
					continue
				}
				if ms[i].Match(p) {
					want[i]++
				}
				if p.HotDrop {
					break
				}
			}
		}
		return want
	}
	wantPre := run(preM, pre, func(p *Pkt) {
		p.Hook, p.InIface, p.Env, p.Time = HookPreRouting, "vb", env, sentAt.UnixNano()
	})
	wantOut := run(outM, out, func(p *Pkt) {
		p.Hook, p.OutIface, p.Env, p.Time, p.Sock = HookLocalOut, "va", env, sentAt.UnixNano(), sock
	})
	counts := func(ns *netns.NS, chain string, n int) []int {
		text := ns.MustRun(t, "iptables-legacy", "-t", "raw", "-L", chain, "-v", "-n", "-x")
		lines := strings.Split(strings.TrimSpace(text), "\n")[2:]
		if len(lines) != n {
			t.Fatalf("%d rules listed, want %d:\n%s", len(lines), n, text)
		}
		c := make([]int, n)
		for i, l := range lines {
			c[i], _ = strconv.Atoi(strings.Fields(l)[0])
		}
		return c
	}
	check := func(name string, rs []rule, got, want []int) {
		for i := range rs {
			if got[i] != want[i] {
				t.Errorf("%s rule %d (-m %s %s): kernel counted %d packets, nfgo %d", name, i+1, rs[i].def.Name, rs[i].args, got[i], want[i])
			}
		}
		t.Logf("%s: kernel counters %v", name, got)
	}
	check("PREROUTING", pre, counts(b, "PREROUTING", len(pre)), wantPre)
	check("OUTPUT", out, counts(a, "OUTPUT", len(out)), wantOut)
}
