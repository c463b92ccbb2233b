package conntrack

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/packet"
)

// The ftp helper (net/netfilter/nf_conntrack_ftp.c): it reads the
// control connection and expects the data connections it announces:
// PORT and EPRT commands from the client (original direction), 227
// (PASV) and 229 (EPSV) replies from the server.
//
// Commands are looked for only at the start of a segment that begins
// just after a newline the helper saw in the same direction (it
// remembers the sequence numbers after the last two segments ending in
// '\n'); so the first segment each way (the server's banner, the
// client's first command) is never parsed, and a command split across
// segments is not found in its second part. A segment holding only the
// beginning of a command (up to the whole keyword) or a command whose
// numbers do not parse is dropped ("partial matching"): the kernel
// waits for the peer to send it again whole. An address other than the
// sender's own is accepted but not expected (the module's loose=0).
//
// Not modelled: NAT of the announced address (nf_nat_ftp), the
// NF_CT_FTP_SEQ_PICKUP flag of entries injected through ctnetlink, IPv6
// (EPRT |2|), and the "nf_ct_ftp: dropping packet" log line, which the
// kernel prints only when a logger is bound to the family (nf_log).

const numSeqToRemember = 2 // NUM_SEQ_TO_REMEMBER

// ftpState is struct nf_ct_ftp_master.
type ftpState struct {
	seqAftNl    [2][numSeqToRemember]uint32
	seqAftNlNum [2]uint8
}

// FTP command kinds (enum nf_ct_ftp_type).
const (
	ftpPort = iota
	ftpPasv
	ftpEprt
	ftpEpsv
)

type ftpSearch struct {
	pattern    string
	skip, term byte
	kind       int
	getnum     func(data []byte, term byte, ip uint32) (int, uint32, uint16)
}

// ftpSearches is search[dir][]: the commands looked for in each
// direction, in order.
var ftpSearches = [2][2]ftpSearch{
	{
		{pattern: "PORT", skip: ' ', term: '\r', kind: ftpPort, getnum: ftpRFC959},
		{pattern: "EPRT", skip: ' ', term: '\r', kind: ftpEprt, getnum: ftpEPRT},
	},
	{
		{pattern: "227 ", kind: ftpPasv, getnum: ftpRFC1123},
		{pattern: "229 ", skip: '(', term: ')', kind: ftpEpsv, getnum: ftpEPSV},
	},
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ftpNumbers is try_number: len(arr) decimal numbers separated by sep,
// the last one ended by term (any character when term is 0). It
// returns how many bytes the numbers take (the terminator excluded), 0
// when they do not parse. The numbers wrap at 32 bits, unchecked.
func ftpNumbers(data []byte, arr []uint32, sep, term byte) int {
	for i := range arr {
		arr[i] = 0
	}
	i := 0
	for n := 0; n < len(data) && i < len(arr); n++ {
		c := data[n]
		switch {
		case isDigit(c):
			arr[i] = arr[i]*10 + uint32(c-'0')
		case c == sep:
			i++
		default:
			if (c == term || term == 0) && i == len(arr)-1 {
				return n
			}
			return 0
		}
	}
	return 0
}

// ftpRFC959 is try_rfc959: "h1,h2,h3,h4,p1,p2". Numbers above 255
// spill into the neighbouring bytes as the kernel's shifts let them.
func ftpRFC959(data []byte, term byte, ip uint32) (int, uint32, uint16) {
	var a [6]uint32
	n := ftpNumbers(data, a[:], ',', term)
	if n == 0 {
		return 0, ip, 0
	}
	return n, a[0]<<24 | a[1]<<16 | a[2]<<8 | a[3], uint16(a[4]<<8 | a[5])
}

// ftpRFC1123 is try_rfc1123: the 227 reply's numbers start at its first
// digit, wherever that is, and end at any character.
func ftpRFC1123(data []byte, term byte, ip uint32) (int, uint32, uint16) {
	for i, c := range data {
		if isDigit(c) {
			return ftpRFC959(data[i:], 0, ip)
		}
	}
	return 0, ip, 0
}

// ftpGetPort is get_port: a port up to delim, from start; it returns the
// offset after delim, 0 for no digits, a port of 0 or another character.
func ftpGetPort(data []byte, start int, delim byte) (int, uint16) {
	var p uint16
	for i := start; i < len(data); i++ {
		c := data[i]
		switch {
		case c == delim:
			if p == 0 {
				return 0, 0
			}
			return i + 1, p
		case isDigit(c):
			p = p*10 + uint16(c-'0')
		default:
			return 0, 0
		}
	}
	return 0, 0
}

func ftpDelimOK(d byte) bool { return !isDigit(d) && d >= 33 && d <= 126 }

// ftpEPRT is try_eprt for IPv4: "|1|a.b.c.d|port|" with any printable
// delimiter other than a digit.
func ftpEPRT(data []byte, term byte, ip uint32) (int, uint32, uint16) {
	if len(data) <= 3 {
		return 0, ip, 0
	}
	d := data[0]
	if !ftpDelimOK(d) || data[2] != d || data[1] != '1' {
		return 0, ip, 0
	}
	var a [4]uint32
	n := ftpNumbers(data[3:], a[:], '.', d)
	if n == 0 {
		return 0, ip, 0
	}
	ip = a[0]<<24 | a[1]<<16 | a[2]<<8 | a[3]
	n, port := ftpGetPort(data, 3+n+1, d)
	return n, ip, port
}

// ftpEPSV is try_epsv_response: "|||port|" after the '('.
func ftpEPSV(data []byte, term byte, ip uint32) (int, uint32, uint16) {
	if len(data) <= 3 {
		return 0, ip, 0
	}
	d := data[0]
	if !ftpDelimOK(d) || data[1] != d || data[2] != d {
		return 0, ip, 0
	}
	n, port := ftpGetPort(data, 3, d)
	return n, ip, port
}

// equalFoldN is strncasecmp(data, pattern, n) == 0 for n <= len(pattern).
func equalFoldN(data []byte, pattern string, n int) bool {
	for i := 0; i < n; i++ {
		a, b := data[i], pattern[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// ftpFind is find_pattern: 1 for a match (with the address, ip when the
// command names none, and port), 0 for none, -1 for a partial one.
func ftpFind(data []byte, s *ftpSearch, ip uint32) (int, uint32, uint16) {
	plen := len(s.pattern)
	if len(data) <= plen {
		if equalFoldN(data, s.pattern, len(data)) {
			return -1, ip, 0
		}
		return 0, ip, 0
	}
	if !equalFoldN(data, s.pattern, plen) {
		return 0, ip, 0
	}
	i := plen
	if s.skip != 0 {
		for ; data[i] != s.skip; i++ {
			if i == len(data)-1 {
				return -1, ip, 0
			}
		}
		i++
	}
	n, ip, port := s.getnum(data[i:], s.term, ip)
	if n == 0 {
		return -1, ip, 0
	}
	return 1, ip, port
}

func (f *ftpState) findNlSeq(seq uint32, dir Dir) bool {
	for i := uint8(0); i < f.seqAftNlNum[dir]; i++ {
		if f.seqAftNl[dir][i] == seq {
			return true
		}
	}
	return false
}

// updateNlSeq is update_nl_seq: remember seq (just after a newline),
// replacing the older of two only with a later one.
func (f *ftpState) updateNlSeq(seq uint32, dir Dir) {
	n := f.seqAftNlNum[dir]
	for i := uint8(0); i < n; i++ {
		if f.seqAftNl[dir][i] == seq {
			return
		}
	}
	if n < numSeqToRemember {
		f.seqAftNl[dir][n] = seq
		f.seqAftNlNum[dir]++
		return
	}
	oldest := 1
	if before(f.seqAftNl[dir][0], f.seqAftNl[dir][1]) {
		oldest = 0
	}
	if after(seq, f.seqAftNl[dir][oldest]) {
		f.seqAftNl[dir][oldest] = seq
	}
}

// ftpHelp is the ftp helper's help(): false drops the packet.
func ftpHelp(t *Table, ct *Conn, ci CtInfo, p *packet.Parsed, now int64) bool {
	if ci != Established && ci != EstablishedReply {
		return true
	}
	if p.IHL > len(p.B) {
		return true
	}
	l4 := p.B[p.IHL:]
	if len(l4) < 20 {
		return true
	}
	doff := int(l4[12]>>4) * 4
	if doff >= len(l4) {
		return true // no data
	}
	data := l4[doff:]
	dir := Original
	if ci.IsReply() {
		dir = Reply
	}
	th := binary.BigEndian.Uint32(l4[4:8])
	endsNl := data[len(data)-1] == '\n'
	seq := th + uint32(len(data))

	ct.mu.Lock()
	defer ct.mu.Unlock()
	f := ct.ftp
	if !f.findNlSeq(th, dir) {
		if endsNl {
			f.updateNlSeq(seq, dir)
		}
		return true
	}

	// The address defaults to the sender's (EPSV replies name none).
	src := ct.th[dir].t.Src
	ip, port := src, uint16(0)
	found := 0
	for i := range ftpSearches[dir] {
		if found, ip, port = ftpFind(data, &ftpSearches[dir][i], src); found != 0 {
			break
		}
	}
	switch found {
	case -1:
		return false // "partial matching of `%s'"
	case 0:
		if endsNl {
			f.updateNlSeq(seq, dir)
		}
		return true
	}
	ok := true
	if ip == src {
		// Expect the other side's connection: from the peer of this
		// direction to the address given, at the port given.
		other := &ct.th[1-dir].t
		e := &Expect{
			Tuple:   Tuple{Src: other.Src, Dst: other.Dst, DstPort: port, Proto: protoTCP},
			MaskSrc: 0xFFFFFFFF,
			Master:  ct,
			Helper:  ct.helper,
			zone:    ct.zone,
		}
		if t.expectRelated(e, now) != expOK {
			ok = false // "cannot add expectation"
		}
	}
	// else: another address than the sender's (loose=0): not expected.
	// The newline is remembered even when the packet is dropped.
	if endsNl {
		f.updateNlSeq(seq, dir)
	}
	return ok
}
