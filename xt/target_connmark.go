package xt

import (
	"fmt"
	"strings"
)

// CONNMARK: -j CONNMARK --set-xmark V[/M] | --set-mark V[/M] | --and-mark V
// | --or-mark V | --xor-mark V | --save-mark | --restore-mark, with
// [--ctmask M] [--nfmask M] | [--mask M], [--left-shift-mark N |
// --right-shift-mark N]  (libxt_CONNMARK revision 2, struct
// xt_connmark_tginfo2). Saved as "--set-xmark 0xV/0xM" or
// "--save-mark/--restore-mark --nfmask 0xN --ctmask 0xC".

const (
	cmOptSetMark = iota
	cmOptSaveMark
	cmOptRestoreMark
	cmOptAndMark
	cmOptOrMark
	cmOptXorMark
	cmOptLeftShift
	cmOptRightShift
	cmOptSetXmark
	cmOptCtmask
	cmOptNfmask
	cmOptMask

	cmOpAny = 1<<cmOptSetMark | 1<<cmOptSaveMark | 1<<cmOptRestoreMark |
		1<<cmOptAndMark | 1<<cmOptOrMark | 1<<cmOptXorMark | 1<<cmOptSetXmark
)

var connmarkX6 = X6Table{Ext: "CONNMARK", Entries: []X6Entry{
	{Name: "set-xmark", ID: cmOptSetXmark, Arg: true, Excl: cmOpAny},
	{Name: "set-mark", ID: cmOptSetMark, Arg: true, Excl: cmOpAny},
	{Name: "and-mark", ID: cmOptAndMark, Arg: true, Excl: cmOpAny},
	{Name: "or-mark", ID: cmOptOrMark, Arg: true, Excl: cmOpAny},
	{Name: "xor-mark", ID: cmOptXorMark, Arg: true, Excl: cmOpAny},
	{Name: "save-mark", ID: cmOptSaveMark, Excl: cmOpAny},
	{Name: "restore-mark", ID: cmOptRestoreMark, Excl: cmOpAny},
	{Name: "left-shift-mark", ID: cmOptLeftShift, Arg: true},
	{Name: "right-shift-mark", ID: cmOptRightShift, Arg: true},
	{Name: "ctmask", ID: cmOptCtmask, Arg: true, Excl: 1 << cmOptMask},
	{Name: "nfmask", ID: cmOptNfmask, Arg: true, Excl: 1 << cmOptMask},
	{Name: "mask", ID: cmOptMask, Arg: true, Excl: 1<<cmOptCtmask | 1<<cmOptNfmask},
}}

var connmarkTarget = Def{
	Conntrack: true,
	Name:      "CONNMARK",
	Kind:      KindTarget,
	Revision:  2,
	Options:   connmarkX6.Options(),
	New: func() Ext {
		return &ConnmarkTarget{CtMask: 0xFFFFFFFF, NfMask: 0xFFFFFFFF}
	},
}

// CONNMARK modes (XT_CONNMARK_*) and shift directions.
const (
	ConnmarkSet     = 0
	ConnmarkSave    = 1
	ConnmarkRestore = 2

	ConnmarkShiftLeft  = 0
	ConnmarkShiftRight = 1
)

// ConnmarkTarget is struct xt_connmark_tginfo2.
type ConnmarkTarget struct {
	CtMark, CtMask, NfMask uint32
	Mode                   uint8
	ShiftDir               uint8
	ShiftBits              uint8
	xflags                 uint32
}

func (m *ConnmarkTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	e, err := connmarkX6.Parse(o.Name, invert, m.xflags)
	if err != nil {
		return err
	}
	u32 := func() (uint32, error) {
		v, err := ParseUintOpt("CONNMARK", e.Name, arg, 0, 0xFFFFFFFF)
		return uint32(v), err
	}
	switch e.ID {
	case cmOptSetXmark, cmOptSetMark:
		v, mask, err := ParseMarkMask("CONNMARK", e.Name, arg)
		if err != nil {
			return err
		}
		m.Mode, m.CtMark, m.CtMask = ConnmarkSet, v, mask
		if e.ID == cmOptSetMark {
			m.CtMask = v | mask
		}
	case cmOptAndMark, cmOptOrMark, cmOptXorMark:
		v, err := u32()
		if err != nil {
			return err
		}
		m.Mode = ConnmarkSet
		switch e.ID {
		case cmOptAndMark:
			m.CtMark, m.CtMask = 0, ^v
		case cmOptOrMark:
			m.CtMark, m.CtMask = v, v
		default:
			m.CtMark, m.CtMask = v, 0
		}
	case cmOptSaveMark:
		m.Mode = ConnmarkSave
	case cmOptRestoreMark:
		m.Mode = ConnmarkRestore
	case cmOptCtmask, cmOptNfmask, cmOptMask:
		v, err := u32()
		if err != nil {
			return err
		}
		switch e.ID {
		case cmOptCtmask:
			m.CtMask = v
		case cmOptNfmask:
			m.NfMask = v
		default:
			m.CtMask, m.NfMask = v, v
		}
	case cmOptLeftShift, cmOptRightShift:
		v, err := ParseUintOpt("CONNMARK", e.Name, arg, 0, 32)
		if err != nil {
			return err
		}
		m.ShiftDir = ConnmarkShiftLeft
		if e.ID == cmOptRightShift {
			m.ShiftDir = ConnmarkShiftRight
		}
		m.ShiftBits = uint8(v)
	}
	m.xflags |= 1 << e.ID
	return nil
}

// Final is connmark_tg_check, then the x6 option checks (C's order).
func (m *ConnmarkTarget) Final(c *Ctx) error {
	if m.xflags&cmOpAny == 0 {
		return Errorf("CONNMARK target: No operation specified")
	}
	return connmarkX6.Final(m.xflags)
}

func (m *ConnmarkTarget) shiftOp() string {
	if m.ShiftDir == ConnmarkShiftRight {
		return "right-shift-mark"
	}
	return "left-shift-mark"
}

func (m *ConnmarkTarget) Save(b *strings.Builder, c *Ctx) {
	switch m.Mode {
	case ConnmarkSet:
		fmt.Fprintf(b, " --set-xmark 0x%x/0x%x", m.CtMark, m.CtMask)
	case ConnmarkSave:
		fmt.Fprintf(b, " --save-mark --nfmask 0x%x --ctmask 0x%x", m.NfMask, m.CtMask)
	case ConnmarkRestore:
		fmt.Fprintf(b, " --restore-mark --nfmask 0x%x --ctmask 0x%x", m.NfMask, m.CtMask)
	default:
		b.WriteString(" ERROR: UNKNOWN CONNMARK MODE")
	}
	if m.Mode <= ConnmarkRestore && m.ShiftBits != 0 {
		fmt.Fprintf(b, " --%s %d", m.shiftOp(), m.ShiftBits)
	}
}

func (m *ConnmarkTarget) Print(b *strings.Builder, c *Ctx, numeric bool) {
	switch m.Mode {
	case ConnmarkSet:
		switch {
		case m.CtMark == 0:
			fmt.Fprintf(b, " CONNMARK and 0x%x", ^m.CtMask)
		case m.CtMark == m.CtMask:
			fmt.Fprintf(b, " CONNMARK or 0x%x", m.CtMark)
		case m.CtMask == 0:
			fmt.Fprintf(b, " CONNMARK xor 0x%x", m.CtMark)
		case m.CtMask == 0xFFFFFFFF:
			fmt.Fprintf(b, " CONNMARK set 0x%x", m.CtMark)
		default:
			fmt.Fprintf(b, " CONNMARK xset 0x%x/0x%x", m.CtMark, m.CtMask)
		}
	case ConnmarkSave:
		switch {
		case m.NfMask == 0xFFFFFFFF && m.CtMask == 0xFFFFFFFF:
			b.WriteString(" CONNMARK save")
		case m.NfMask == m.CtMask:
			fmt.Fprintf(b, " CONNMARK save mask 0x%x", m.NfMask)
		default:
			fmt.Fprintf(b, " CONNMARK save nfmask 0x%x ctmask ~0x%x", m.NfMask, m.CtMask)
		}
	case ConnmarkRestore:
		switch {
		case m.CtMask == 0xFFFFFFFF && m.NfMask == 0xFFFFFFFF:
			b.WriteString(" CONNMARK restore")
		case m.CtMask == m.NfMask:
			fmt.Fprintf(b, " CONNMARK restore mask 0x%x", m.CtMask)
		default:
			fmt.Fprintf(b, " CONNMARK restore ctmask 0x%x nfmask ~0x%x", m.CtMask, m.NfMask)
		}
	default:
		b.WriteString(" ERROR: UNKNOWN CONNMARK MODE")
	}
	if m.Mode <= ConnmarkRestore && m.ShiftBits != 0 {
		fmt.Fprintf(b, " %s %d", m.shiftOp(), m.ShiftBits)
	}
}

// Target is xt_connmark's connmark_tg_shift: set the connection's mark,
// save the packet's into it, or restore it into the packet (with the
// revision 2 shift). Without a conntrack entry nothing happens.
func (m *ConnmarkTarget) Target(p *Pkt) Verdict {
	conn := p.Conn
	if conn == nil {
		return VerdictContinue
	}
	shift := func(v uint32) uint32 {
		if m.ShiftDir == ConnmarkShiftRight {
			return v >> m.ShiftBits
		}
		return v << m.ShiftBits
	}
	switch m.Mode {
	case ConnmarkSet:
		nm := shift(conn.Mark()&^m.CtMask ^ m.CtMark)
		if conn.Mark() != nm {
			conn.SetMark(nm)
		}
	case ConnmarkSave:
		nm := conn.Mark()&^m.CtMask ^ shift(p.Mark&m.NfMask)
		if conn.Mark() != nm {
			conn.SetMark(nm)
		}
	case ConnmarkRestore:
		p.Mark = p.Mark&^m.NfMask ^ shift(conn.Mark()&m.CtMask)
	}
	return VerdictContinue
}
