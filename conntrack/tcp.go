package conntrack

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/packet"
)

// TCP tracking states (enum tcp_conntrack).
const (
	TCPNone        = 0
	TCPSynSent     = 1
	TCPSynRecv     = 2
	TCPEstablished = 3
	TCPFinWait     = 4
	TCPCloseWait   = 5
	TCPLastAck     = 6
	TCPTimeWait    = 7
	TCPClose       = 8
	TCPSynSent2    = 9
	tcpMax         = 10 // sIV: invalid transition
	tcpIgnore      = 11 // sIG: ignored packet
	tcpRetrans     = 12
	tcpUnack       = 13
	tcpTimeoutMax  = 14
)

// TCPStateNames are the names /proc/net/nf_conntrack and conntrack -L print.
var TCPStateNames = [...]string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

// flags of one direction (ip_ct_tcp_state.flags).
const (
	tcpFlagWindowScale  = 0x01
	tcpFlagSackPerm     = 0x02
	tcpFlagCloseInit    = 0x04
	tcpFlagBeLiberal    = 0x08
	tcpFlagDataUnacked  = 0x10
	tcpFlagMaxackSet    = 0x20
	tcpExpChallengeAck  = 0x40
	tcpSimultaneousOpen = 0x80
)

// segment kinds (enum tcp_bit_set).
const (
	tcpSynSet = iota
	tcpSynackSet
	tcpFinSet
	tcpAckSet
	tcpRstSet
	tcpNoneSet
)

type tcpSide struct {
	end, maxend, maxwin, maxack uint32
	scale                       uint8
	flags                       uint8
}

type tcpState struct {
	seen       [2]tcpSide
	state      uint8
	lastDir    Dir
	retrans    uint8
	lastIndex  uint8
	lastSeq    uint32
	lastAck    uint32
	lastEnd    uint32
	lastWin    uint16
	lastWscale uint8
	lastFlags  uint8
}

const (
	sNO = TCPNone
	sSS = TCPSynSent
	sSR = TCPSynRecv
	sES = TCPEstablished
	sFW = TCPFinWait
	sCW = TCPCloseWait
	sLA = TCPLastAck
	sTW = TCPTimeWait
	sCL = TCPClose
	sS2 = TCPSynSent2
	sIV = tcpMax
	sIG = tcpIgnore
)

// tcpConntracks is the kernel's state transition table:
// [direction][segment kind][old state] -> new state.
var tcpConntracks = [2][6][10]uint8{
	{ // ORIGINAL
		/*syn*/ {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
		/*synack*/ {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
		/*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		/*ack*/ {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
		/*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		/*none*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
	{ // REPLY
		/*syn*/ {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
		/*synack*/ {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
		/*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		/*ack*/ {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
		/*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		/*none*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
}

// tcpSeg is the decoded TCP header of the packet being tracked.
type tcpSeg struct {
	seq, ack uint32
	win      uint16
	flags    uint8
	opts     []byte
	end      uint32 // segment_seq_plus_len
}

func (s *tcpSeg) syn() bool  { return s.flags&packet.TCPSyn != 0 }
func (s *tcpSeg) fin() bool  { return s.flags&packet.TCPFin != 0 }
func (s *tcpSeg) rst() bool  { return s.flags&packet.TCPRst != 0 }
func (s *tcpSeg) ackf() bool { return s.flags&packet.TCPAck != 0 }

func (s *tcpSeg) index() uint8 {
	switch {
	case s.rst():
		return tcpRstSet
	case s.syn():
		if s.ackf() {
			return tcpSynackSet
		}
		return tcpSynSet
	case s.fin():
		return tcpFinSet
	case s.ackf():
		return tcpAckSet
	}
	return tcpNoneSet
}

// tcpValidFlags is the table of valid combinations of FIN/SYN/RST/ACK/URG.
var tcpValidFlags = func() (v [0x40]bool) {
	const F, S, R, A, U = packet.TCPFin, packet.TCPSyn, packet.TCPRst, packet.TCPAck, packet.TCPUrg
	for _, f := range []uint8{S, S | U, S | A, R, R | A, F | A, F | A | U, A, A | U} {
		v[f] = true
	}
	return
}()

func after(a, b uint32) bool  { return int32(b-a) < 0 }
func before(a, b uint32) bool { return int32(a-b) < 0 }

// tcpOptions is the simplified tcp_parse_options (window scale, SACK
// permitted) into one direction's state.
func tcpOptions(opts []byte, st *tcpSide) {
	if len(opts) == 0 {
		return
	}
	st.scale = 0
	st.flags &= tcpFlagBeLiberal
	for len(opts) > 0 {
		op := opts[0]
		switch op {
		case 0: // EOL
			return
		case 1: // NOP
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return
		}
		size := int(opts[1])
		if size < 2 || size > len(opts) {
			return
		}
		if op == 4 && size == 2 {
			st.flags |= tcpFlagSackPerm
		} else if op == 3 && size == 3 {
			st.scale = opts[2]
			if st.scale > 14 { // TCP_MAX_WSCALE
				st.scale = 14
			}
			st.flags |= tcpFlagWindowScale
		}
		opts = opts[size:]
	}
}

// tcpSack raises sack to the highest right edge of the SACK blocks.
func tcpSack(opts []byte, sack *uint32) {
	if len(opts) == 0 {
		return
	}
	if len(opts) == 12 && binary.BigEndian.Uint32(opts) == 0x0101080a {
		return // timestamp only
	}
	for len(opts) > 0 {
		op := opts[0]
		switch op {
		case 0:
			return
		case 1:
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return
		}
		size := int(opts[1])
		if size < 2 || size > len(opts) {
			return
		}
		if op == 5 && size >= 10 && (size-2)%8 == 0 {
			for i := 2; i < size; i += 8 {
				v := binary.BigEndian.Uint32(opts[i+4:])
				if after(v, *sack) {
					*sack = v
				}
			}
			return
		}
		opts = opts[size:]
	}
}

func (t *Table) tcpInitSender(sender, receiver *tcpSide, sg *tcpSeg, win uint32, dir Dir) {
	sender.end = sg.end
	sender.maxend = sg.end
	sender.maxwin = win
	if win == 0 {
		sender.maxwin = 1
	}
	tcpOptions(sg.opts, sender)
	if dir == Reply && !(sender.flags&tcpFlagWindowScale != 0 && receiver.flags&tcpFlagWindowScale != 0) {
		sender.scale = 0
		receiver.scale = 0
	}
}

type tcpAction uint8

const (
	tcpActIgnore tcpAction = iota
	tcpActInvalid
	tcpActAccept
)

func (t *Table) tcpLogInvalid(sender *tcpSide, ret tcpAction) tcpAction {
	if sender.flags&tcpFlagBeLiberal != 0 || t.cfg.TCPBeLiberal {
		return tcpActAccept
	}
	return ret
}

func maxAckWindow(s *tcpSide) uint32 {
	if s.maxwin > 66000 {
		return s.maxwin
	}
	return 66000
}

// tcpInWindow is tcp_in_window.
func (t *Table) tcpInWindow(st *tcpState, dir Dir, index uint8, sg *tcpSeg) tcpAction {
	sender := &st.seen[dir]
	receiver := &st.seen[1-dir]
	if t.cfg.TCPNoWindowCheck {
		return tcpActAccept
	}
	seq := sg.seq
	ack := sg.ack
	sack := ack
	winRaw := sg.win
	win := uint32(winRaw)
	end := sg.end
	if receiver.flags&tcpFlagSackPerm != 0 {
		tcpSack(sg.opts, &sack)
	}
	if sender.maxwin == 0 {
		if sg.syn() {
			t.tcpInitSender(sender, receiver, sg, win, dir)
			if !sg.ackf() {
				return tcpActAccept // simultaneous open
			}
		} else {
			sender.end = end
			swin := win << sender.scale
			if swin == 0 {
				swin = 1
			}
			sender.maxwin = swin
			sender.maxend = end + swin
			if receiver.maxwin == 0 {
				receiver.end = sack
				receiver.maxend = sack
			} else if sack == receiver.end+1 {
				receiver.end++
			}
		}
	} else if sg.syn() && after(end, sender.end) && (st.state == TCPSynSent || st.state == TCPSynRecv) {
		t.tcpInitSender(sender, receiver, sg, win, dir)
		if dir == Reply && !sg.ackf() {
			return tcpActAccept
		}
	}

	if !sg.ackf() {
		ack = receiver.end
		sack = ack
	} else if sg.flags&(packet.TCPAck|packet.TCPRst) == packet.TCPAck|packet.TCPRst && ack == 0 {
		ack = receiver.end
		sack = ack
	}
	if sg.rst() && seq == 0 && st.state == TCPSynSent {
		seq = sender.end
		end = seq
	}

	if !before(seq, sender.maxend+1) {
		overshot := end - sender.maxend + 1
		ackOK := after(sack, receiver.end-maxAckWindow(sender)-1)
		inRecvWin := receiver.maxwin != 0 && after(end, sender.end-receiver.maxwin-1)
		if inRecvWin && ackOK && overshot <= receiver.maxwin && before(sack, receiver.end+1) {
			sender.end = end
			sender.flags |= tcpFlagDataUnacked
			return t.tcpLogInvalid(sender, tcpActIgnore)
		}
		return t.tcpLogInvalid(sender, tcpActInvalid)
	}
	if !before(sack, receiver.end+1) {
		return t.tcpLogInvalid(sender, tcpActInvalid)
	}
	if !(receiver.maxwin == 0 || after(end, sender.end-receiver.maxwin-1)) {
		return t.tcpLogInvalid(sender, tcpActIgnore)
	}
	if !after(sack, receiver.end-maxAckWindow(sender)-1) {
		return t.tcpLogInvalid(sender, tcpActIgnore)
	}

	if !sg.syn() {
		win <<= sender.scale
	}
	swin := win + (sack - ack)
	if sender.maxwin < swin {
		sender.maxwin = swin
	}
	if after(end, sender.end) {
		sender.end = end
		sender.flags |= tcpFlagDataUnacked
	}
	if sg.ackf() {
		if sender.flags&tcpFlagMaxackSet == 0 {
			sender.maxack = ack
			sender.flags |= tcpFlagMaxackSet
		} else if after(ack, sender.maxack) {
			sender.maxack = ack
		}
	}
	if receiver.maxwin != 0 && after(end, sender.maxend) {
		receiver.maxwin += end - sender.maxend
	}
	if after(sack+win, receiver.maxend-1) {
		receiver.maxend = sack + win
		if win == 0 {
			receiver.maxend++
		}
	}
	if ack == receiver.end {
		receiver.flags &^= tcpFlagDataUnacked
	}
	if index == tcpAckSet {
		if st.lastDir == dir && st.lastSeq == seq && st.lastAck == ack && st.lastEnd == end && st.lastWin == winRaw {
			st.retrans++
		} else {
			st.lastDir = dir
			st.lastSeq = seq
			st.lastAck = ack
			st.lastEnd = end
			st.lastWin = winRaw
			st.retrans = 0
		}
	}
	return tcpActAccept
}

// tcpHandleInvalid is nf_tcp_handle_invalid: an out-of-window FIN/RST
// answering the peer's FIN/RST shortens an ASSURED entry's timeout.
func (t *Table) tcpHandleInvalid(ct *Conn, dir Dir, index uint8, now int64) {
	s := ct.status.Load()
	if s&StatusAssured == 0 || s&StatusFixedTimeout != 0 {
		return
	}
	if index != tcpRstSet && index != tcpFinSet {
		return
	}
	st := &ct.tcp
	if st.lastDir != dir && (st.lastIndex == tcpFinSet || st.lastIndex == tcpRstSet) {
		expires := ct.expiresNS(now)
		if expires < 120e9 {
			return
		}
		to := t.timeout.tcp[tcpUnack]
		if expires > to {
			ct.timeout.Store(now + to)
		}
	} else {
		st.lastIndex = index
		st.lastDir = dir
	}
}

// tcpError is tcp_error: truncated headers, bad checksums (PREROUTING),
// invalid flag combinations.
func tcpError(p *packet.Parsed, l4 []byte, csum bool) bool {
	doff := int(l4[12]>>4) * 4
	if doff < 20 || len(l4) < doff {
		return true
	}
	if csum && !l4ChecksumOK(p, l4, protoTCP) {
		return true
	}
	f := l4[13] &^ (packet.TCPEce | packet.TCPCwr | packet.TCPPsh)
	return !tcpValidFlags[f]
}

// tcpNew is tcp_new: the first packet of a connection.
func (t *Table) tcpNew(ct *Conn, sg *tcpSeg) bool {
	ns := tcpConntracks[0][sg.index()][TCPNone]
	if ns >= tcpMax {
		return false
	}
	st := &ct.tcp
	*st = tcpState{}
	s0 := &st.seen[0]
	s0.end = sg.end
	s0.maxwin = uint32(sg.win)
	if s0.maxwin == 0 {
		s0.maxwin = 1
	}
	if ns == TCPSynSent {
		s0.maxend = s0.end
		tcpOptions(sg.opts, s0)
	} else {
		if !t.cfg.TCPLoose {
			return false
		}
		s0.maxend = s0.end + s0.maxwin
		s0.flags = tcpFlagSackPerm | tcpFlagBeLiberal
		st.seen[1].flags = tcpFlagSackPerm | tcpFlagBeLiberal
	}
	st.lastIndex = tcpNoneSet
	return true
}

func (ct *Conn) tcpEstablished() bool {
	return ct.tcp.state == TCPEstablished && ct.status.Load()&StatusAssured != 0
}

func (ct *Conn) tcpCanEarlyDrop() bool {
	switch ct.tcp.state {
	case TCPFinWait, TCPLastAck, TCPTimeWait, TCPClose, TCPCloseWait:
		return true
	}
	return false
}

// tcpPacket is nf_conntrack_tcp_packet.
func (t *Table) tcpPacket(ct *Conn, ci CtInfo, p *packet.Parsed, l4 []byte, now int64, csum bool) verdict {
	if len(l4) < 20 {
		return vInvalid
	}
	if tcpError(p, l4, csum) {
		return vInvalid
	}
	doff := int(l4[12]>>4) * 4
	sg := tcpSeg{
		seq:   binary.BigEndian.Uint32(l4[4:8]),
		ack:   binary.BigEndian.Uint32(l4[8:12]),
		win:   binary.BigEndian.Uint16(l4[14:16]),
		flags: l4[13],
		opts:  l4[20:doff],
	}
	sg.end = sg.seq + uint32(len(l4)-doff)
	if sg.syn() {
		sg.end++
	}
	if sg.fin() {
		sg.end++
	}
	if !ct.Confirmed() && !t.tcpNew(ct, &sg) {
		return vInvalid
	}

	ct.mu.Lock()
	st := &ct.tcp
	old := st.state
	dir := Original
	if ci.IsReply() {
		dir = Reply
	}
	index := sg.index()
	ns := tcpConntracks[dir][index][old]

	skipWindow := false
	switch ns {
	case TCPSynSent, tcpIgnore:
		if ns == TCPSynSent {
			if old < TCPTimeWait {
				break
			}
			if (st.seen[dir].flags|st.seen[1-dir].flags)&tcpFlagCloseInit != 0 ||
				(st.lastDir == dir && st.lastIndex == tcpRstSet) {
				ct.mu.Unlock()
				if t.kill(ct, now) {
					return vRepeat
				}
				return vDrop
			}
		}
		// ignored packets
		if index == tcpSynackSet && st.lastIndex == tcpSynSet && st.lastDir != dir && sg.ack == st.lastEnd {
			old = TCPSynSent
			ns = TCPSynRecv
			ld := &st.seen[st.lastDir]
			ld.end = st.lastEnd
			ld.maxend = st.lastEnd
			ld.maxwin = uint32(st.lastWin)
			if ld.maxwin == 0 {
				ld.maxwin = 1
			}
			ld.scale = st.lastWscale
			st.lastFlags &^= tcpExpChallengeAck
			ld.flags = st.lastFlags
			d := &st.seen[dir]
			d.end, d.maxend, d.maxwin, d.maxack, d.scale = 0, 0, 0, 0, 0
			d.flags &= tcpFlagBeLiberal
			break
		}
		st.lastIndex = index
		st.lastDir = dir
		st.lastSeq = sg.seq
		st.lastEnd = sg.end
		st.lastWin = sg.win
		if index == tcpSynSet && dir == Original {
			var seen tcpSide
			st.lastFlags = 0
			st.lastWscale = 0
			tcpOptions(sg.opts, &seen)
			if seen.flags&tcpFlagWindowScale != 0 {
				st.lastFlags |= tcpFlagWindowScale
				st.lastWscale = seen.scale
			}
			if seen.flags&tcpFlagSackPerm != 0 {
				st.lastFlags |= tcpFlagSackPerm
			}
			if old == TCPLastAck {
				st.lastFlags |= tcpExpChallengeAck
			}
		}
		if old == TCPSynSent && index == tcpAckSet && dir == Reply {
			st.lastAck = sg.ack
		}
		ct.mu.Unlock()
		return vAccept
	case tcpMax:
		ct.mu.Unlock()
		return vInvalid
	case TCPTimeWait:
		if old == TCPLastAck && index == tcpAckSet && st.lastDir != dir &&
			st.lastIndex == tcpSynSet && st.lastFlags&tcpExpChallengeAck != 0 {
			st.lastFlags &^= tcpExpChallengeAck
			ct.mu.Unlock()
			return vAccept
		}
	case TCPSynSent2:
		st.lastFlags |= tcpSimultaneousOpen
	case TCPSynRecv:
		if dir == Reply && index == tcpAckSet && st.lastFlags&tcpSimultaneousOpen != 0 {
			ns = TCPEstablished
		}
	case TCPClose:
		if index != tcpRstSet {
			break
		}
		if ct.tcpCanEarlyDrop() {
			skipWindow = true
			break
		}
		if st.seen[1-dir].flags&tcpFlagMaxackSet != 0 && st.lastIndex != tcpSynSet {
			seq := sg.seq
			if seq == 0 && !ct.tcpEstablished() {
				break
			}
			if before(seq, st.seen[1-dir].maxack) && !t.cfg.TCPIgnoreInvalidRST {
				ct.mu.Unlock()
				return vInvalid
			}
			if !ct.tcpEstablished() || seq == st.seen[1-dir].maxack {
				break
			}
			if st.lastIndex == tcpAckSet && st.lastDir == dir && seq == st.lastEnd {
				break
			}
			ns = old
		}
		s := ct.status.Load()
		if ((s&StatusSeenReply != 0 && st.lastIndex == tcpSynSet && st.lastDir != dir) ||
			(s&StatusAssured == 0 && st.lastIndex == tcpAckSet)) && sg.ack == st.lastEnd {
			skipWindow = true
			break
		}
		if old == TCPSynSent && st.lastIndex == tcpAckSet && st.lastDir == Reply && sg.seq == st.lastAck {
			skipWindow = true
		}
	}

	if !skipWindow {
		switch t.tcpInWindow(st, dir, index, &sg) {
		case tcpActIgnore:
			ct.mu.Unlock()
			return vAccept
		case tcpActInvalid:
			t.tcpHandleInvalid(ct, dir, index, now)
			ct.mu.Unlock()
			return vInvalid
		}
	}

	// in window
	st.lastIndex = index
	st.lastDir = dir
	st.state = ns
	if old != ns && ns == TCPFinWait {
		st.seen[dir].flags |= tcpFlagCloseInit
	}
	to := &t.timeout.tcp
	var timeout int64
	switch {
	case int(st.retrans) >= t.cfg.TCPMaxRetrans && to[ns] > to[tcpRetrans]:
		timeout = to[tcpRetrans]
	case index == tcpRstSet:
		timeout = to[TCPClose]
	case (st.seen[0].flags|st.seen[1].flags)&tcpFlagDataUnacked != 0 && to[ns] > to[tcpUnack]:
		timeout = to[tcpUnack]
	case !t.cfg.TCPNoWindowCheck && st.lastWin == 0 && to[ns] > to[tcpRetrans]:
		timeout = to[tcpRetrans]
	default:
		timeout = to[ns]
	}
	ct.mu.Unlock()
	if ns != old {
		t.cacheEvent(ct, EventProtoinfo)
	}

	s := ct.status.Load()
	if s&StatusSeenReply == 0 {
		if sg.rst() {
			t.kill(ct, now)
			return vAccept
		}
		if index == tcpSynSet && old == TCPSynSent {
			return vAccept // no timeout renewal on SYN retransmits
		}
		if ns == TCPEstablished && timeout > to[tcpUnack] {
			timeout = to[tcpUnack]
		}
	} else if s&StatusAssured == 0 && (old == TCPSynRecv || old == TCPEstablished) && ns == TCPEstablished {
		if ct.status.Or(StatusAssured)&StatusAssured == 0 {
			t.cacheEvent(ct, EventAssured)
		}
	}
	ct.refresh(now, timeout)
	return vAccept
}
