package conntrack

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/packet"
)

// verdicts of the protocol handlers (nf_conntrack_handle_packet).
type verdict uint8

const (
	vAccept  verdict = iota
	vInvalid         // -NF_ACCEPT: the packet goes on without an entry
	vRepeat          // -NF_REPEAT: the entry was killed, look up again
	vDrop            // NF_DROP
)

// In is nf_conntrack_in at PREROUTING: it finds or creates the entry of
// packet p (zone from raw's CT --zone, 0 otherwise) at time now (Unix ns)
// and returns the ctinfo the packet carries and its entry. A NEW packet's
// entry is unconfirmed: later packets do not see it until Confirm. The
// entry is nil for Invalid and Drop. Layer 4 checksums are verified when
// the nf_conntrack_checksum sysctl is set, as the kernel does at
// PREROUTING.
func (t *Table) In(p *packet.Parsed, now int64, zone uint16) (CtInfo, *Conn) {
	return t.in(p, now, zone, nil, t.cfg.Checksum)
}

// InHelper is In for a packet that raw's CT --helper gave a template
// with helper h (nil: none): a connection the packet creates gets the
// helper, unless an expectation claims it (init_conntrack's
// __nf_ct_try_assign_helper). The template does nothing for packets of
// existing connections.
func (t *Table) InHelper(p *packet.Parsed, now int64, zone uint16, h *Helper) (CtInfo, *Conn) {
	return t.in(p, now, zone, h, t.cfg.Checksum)
}

// InLocalHelper is InLocal with a template's helper (raw OUTPUT's CT
// --helper).
func (t *Table) InLocalHelper(p *packet.Parsed, now int64, zone uint16, h *Helper) (CtInfo, *Conn) {
	if p.IsFragment() {
		return Invalid, nil
	}
	return t.in(p, now, zone, h, false)
}

// InLocal is nf_conntrack_in at OUTPUT, for locally generated packets:
// checksums are trusted.
// Fragments (IP_NODEFRAG sockets) skip conntrack at OUTPUT: they carry
// no entry and the state match sees them as INVALID.
func (t *Table) InLocal(p *packet.Parsed, now int64, zone uint16) (CtInfo, *Conn) {
	if p.IsFragment() {
		return Invalid, nil
	}
	return t.in(p, now, zone, nil, false)
}

// Attach is nf_conntrack_attach: the ctinfo a packet the host generates
// in answer to another (REJECT's RST or ICMP error) carries, with the
// other packet's entry; such packets are not looked up again at OUTPUT.
func Attach(ci CtInfo) CtInfo {
	if ci.IsReply() {
		return Related
	}
	return RelatedReply
}

func (t *Table) in(p *packet.Parsed, now int64, zone uint16, helper *Helper, csum bool) (CtInfo, *Conn) {
	// ipv4_get_l4proto: fragments (other than the first) carry no
	// transport header.
	if p.FragOffset() != 0 || p.IHL > len(p.B) {
		t.StatInvalid.Add(1)
		return Invalid, nil
	}
	l4 := p.B[p.IHL:]
	if p.Proto == protoICMP {
		ok, ci, ct := t.icmpError(p, l4, now, zone, csum)
		if !ok {
			t.StatInvalid.Add(1)
			return Invalid, nil
		}
		if ct != nil {
			return ci, ct
		}
	}
	for {
		var tp Tuple
		if !getTuple(p.Src, p.Dst, p.Proto, l4, &tp) {
			t.StatInvalid.Add(1)
			return Invalid, nil
		}
		h := hashTuple(&tp, zone, t.seed)
		ct, dir := t.find(&tp, zone, h, now)
		var ci CtInfo
		if ct == nil {
			repl, ok := tp.invert()
			if !ok {
				t.StatInvalid.Add(1)
				return Invalid, nil
			}
			if !t.admit(h, now) {
				t.StatDrop.Add(1)
				return Drop, nil
			}
			ct = t.newConn(&tp, &repl, zone, h)
			ci = New
			if e := t.findExpect(&tp, zone, now); e != nil {
				// "Welcome, Mr. Bond. We've been expecting you..."
				ct.status.Or(StatusExpected)
				ct.master = e.Master
				ct.mark.Store(e.Master.mark.Load())
				ci = Related
			} else if helper != nil {
				ct.status.Or(StatusHelper)
				ct.helper = helper
				ct.ftp = &ftpState{}
			}
		} else if dir == Reply {
			ci = EstablishedReply
		} else {
			s := ct.status.Load()
			switch {
			case s&StatusSeenReply != 0:
				ci = Established
			case s&StatusExpected != 0:
				ci = Related
			default:
				ci = New
			}
		}
		switch t.handle(ct, ci, p, l4, now, csum) {
		case vInvalid:
			t.StatInvalid.Add(1)
			return Invalid, nil
		case vDrop:
			t.StatInvalid.Add(1)
			t.StatDrop.Add(1)
			return Drop, nil
		case vRepeat:
			continue
		}
		if ci == EstablishedReply && ct.status.Or(StatusSeenReply)&StatusSeenReply == 0 {
			t.cacheEvent(ct, EventReply)
		}
		return ci, ct
	}
}

// ConfirmPacket is nf_confirm: the helper of the packet's entry (if any)
// reads the packet, then the entry is confirmed (Confirm). false means the
// kernel drops the packet: the helper refused it (a partial FTP command,
// an expectation that could not be added) or confirmation failed.
func (t *Table) ConfirmPacket(p *packet.Parsed, ct *Conn, ci CtInfo, now int64) (*Conn, bool) {
	if ct != nil && ct.helper != nil && ci != RelatedReply && ct.helper.help != nil {
		if !ct.helper.help(t, ct, ci, p, now) {
			return ct, false
		}
	}
	return t.Confirm(ct, ci, now)
}

// handle is nf_conntrack_handle_packet.
func (t *Table) handle(ct *Conn, ci CtInfo, p *packet.Parsed, l4 []byte, now int64, csum bool) verdict {
	switch ct.Proto() {
	case protoTCP:
		return t.tcpPacket(ct, ci, p, l4, now, csum)
	case protoUDP:
		return t.udpPacket(ct, p, l4, now, csum)
	case protoICMP:
		return t.icmpPacket(ct, now)
	case protoGRE:
		return t.grePacket(ct, now)
	}
	ct.refresh(now, t.timeout.generic)
	return vAccept
}

// l4Checksum verifies a TCP/UDP checksum with the pseudo header (or the
// plain ICMP checksum when proto is ICMP). A CHECKSUM_PARTIAL packet
// passes: its sum is not computed yet, and nf_ip_checksum trusts it.
func l4ChecksumOK(p *packet.Parsed, l4 []byte, proto uint8) bool {
	if p.CsumPartial {
		return true
	}
	var init uint32
	if proto != protoICMP {
		init = p.Src>>16 + p.Src&0xFFFF + p.Dst>>16 + p.Dst&0xFFFF + uint32(proto) + uint32(len(l4))
	}
	return packet.Checksum16(l4, init) == 0
}

// udpPacket is nf_conntrack_udp_packet (with udp_error).
func (t *Table) udpPacket(ct *Conn, p *packet.Parsed, l4 []byte, now int64, csum bool) verdict {
	if len(l4) < 8 {
		return vInvalid
	}
	ulen := int(binary.BigEndian.Uint16(l4[4:6]))
	if ulen > len(l4) || ulen < 8 {
		return vInvalid
	}
	if binary.BigEndian.Uint16(l4[6:8]) != 0 && csum && !l4ChecksumOK(p, l4, protoUDP) {
		return vInvalid
	}
	s := ct.status.Load()
	if s&StatusConfirmed == 0 {
		ct.udpStreamTS = now + 2e9
	}
	if s&StatusSeenReply != 0 {
		extra := t.timeout.udp
		stream := false
		ct.mu.Lock()
		ts := ct.udpStreamTS
		ct.mu.Unlock()
		if now > ts {
			extra = t.timeout.udpStream
			stream = s&StatusAssured == 0
		}
		ct.refresh(now, extra)
		if stream && ct.status.Or(StatusAssured)&StatusAssured == 0 {
			t.cacheEvent(ct, EventAssured)
		}
	} else {
		ct.refresh(now, t.timeout.udp)
	}
	return vAccept
}

// icmpPacket is nf_conntrack_icmp_packet: only queries make entries.
func (t *Table) icmpPacket(ct *Conn, now int64) verdict {
	switch ct.th[0].t.Type {
	case 8, 13, 15, 17: // echo, timestamp, info request, address mask
	default:
		return vInvalid
	}
	ct.refresh(now, t.timeout.icmp)
	return vAccept
}

// grePacket is nf_conntrack_gre_packet.
func (t *Table) grePacket(ct *Conn, now int64) verdict {
	if !ct.Confirmed() {
		ct.greStreamTimeout = t.timeout.greStream
		ct.greTimeout = t.timeout.gre
	}
	if ct.status.Load()&StatusSeenReply != 0 {
		ct.refresh(now, ct.greStreamTimeout)
		if ct.status.Or(StatusAssured)&StatusAssured == 0 {
			t.cacheEvent(ct, EventAssured)
		}
	} else {
		ct.refresh(now, ct.greTimeout)
	}
	return vAccept
}

// icmpError is nf_conntrack_icmpv4_error: ok false makes the packet
// INVALID; an error message quoting a packet of a known connection is
// RELATED to it (ct set); other ICMP goes on to the normal lookup.
func (t *Table) icmpError(p *packet.Parsed, l4 []byte, now int64, zone uint16, csum bool) (ok bool, ci CtInfo, ct *Conn) {
	if len(l4) < 8 {
		return false, 0, nil
	}
	if csum && !l4ChecksumOK(p, l4, protoICMP) {
		return false, 0, nil
	}
	typ := l4[0]
	if typ > 18 { // NR_ICMP_TYPES
		return false, 0, nil
	}
	switch typ {
	case 3, 4, 5, 11, 12: // icmp_is_err
	default:
		return true, 0, nil
	}
	// nf_conntrack_inet_error: the quoted header, with its transport part.
	in := l4[8:]
	if len(in) < 20 {
		return false, 0, nil
	}
	if binary.BigEndian.Uint16(in[6:8])&packet.OffsetMask != 0 {
		return false, 0, nil
	}
	ihl := int(in[0]&0x0F) * 4
	if ihl > len(in) {
		return false, 0, nil
	}
	var orig Tuple
	src := binary.BigEndian.Uint32(in[12:16])
	dst := binary.BigEndian.Uint32(in[16:20])
	if !getTuple(src, dst, in[9], in[ihl:], &orig) {
		return false, 0, nil
	}
	inner, okInv := orig.invert()
	if !okInv {
		return false, 0, nil
	}
	found, dir := t.find(&inner, zone, hashTuple(&inner, zone, t.seed), now)
	if found == nil {
		return false, 0, nil
	}
	if found.th[dir].t.Dst != p.Dst {
		return false, 0, nil
	}
	ci = Related
	if dir == Reply {
		ci = RelatedReply
	}
	return true, ci, found
}
