package xt

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/ipset"
)

// SET: -j SET [--add-set NAME DIRS [--exist] [--timeout N]]
// [--del-set NAME DIRS] [--map-set NAME DIRS [--map-mark] [--map-prio]
// [--map-queue]]  (libxt_SET revision 3, struct xt_set_info_target_v3).
// libxt_SET parses in the old getopt style: every option may be inverted
// (the "!" is ignored) or repeated as far as the generic code is
// concerned; the parser and the final check do their own checks.

var setTarget = Def{
	Name:     "SET",
	Kind:     KindTarget,
	Revision: 3,
	Options: []Option{
		{Name: "add-set", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "del-set", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "exist", Flags: OptInvert | OptMulti},
		{Name: "timeout", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "map-set", Arg: true, Flags: OptInvert | OptMulti},
		{Name: "map-mark", Flags: OptInvert | OptMulti},
		{Name: "map-prio", Flags: OptInvert | OptMulti},
		{Name: "map-queue", Flags: OptInvert | OptMulti},
	},
	New: func() Ext {
		return &SetTarget{
			AddSet:  SetInfo{Index: ipsetInvalidIndex},
			DelSet:  SetInfo{Index: ipsetInvalidIndex},
			MapSet:  SetInfo{Index: ipsetInvalidIndex},
			Timeout: 0xFFFFFFFF,
		}
	},
}

// SET target option flags (SET_TARGET_*, the parser's own bookkeeping).
const (
	setTargetAdd      = 0x1
	setTargetDel      = 0x2
	setTargetExist    = 0x4
	setTargetTimeout  = 0x8
	setTargetMap      = 0x10
	setTargetMapMark  = 0x20
	setTargetMapPrio  = 0x40
	setTargetMapQueue = 0x80
)

// Command flags of the SET target (IPSET_FLAG_*).
const (
	IPSetFlagExist       = 1 << 0
	IPSetFlagMapSKBMark  = 1 << 8
	IPSetFlagMapSKBPrio  = 1 << 9
	IPSetFlagMapSKBQueue = 1 << 10
)

// SetInfo is struct xt_set_info: the set (by index in the kernel; nfgo
// keeps its name), its dimension and, in
// bit i of Flags, whether dimension i is "src".
type SetInfo struct {
	Name  string
	Index uint16
	Dim   uint8
	Flags uint8
}

// SetTarget is struct xt_set_info_target_v3.
type SetTarget struct {
	AddSet, DelSet, MapSet SetInfo
	Flags                  uint32
	Timeout                uint32

	opts uint32 // SET_TARGET_* seen

	addBound, delBound, mapBound *ipset.Set // once the ruleset is compiled (Bind)
}

// Bind resolves the target's sets by name, as set_target_v3_checkentry
// takes its references.
func (s *SetTarget) Bind() error {
	get := func(info *SetInfo) (*ipset.Set, error) {
		if info.Dim == 0 {
			return nil, nil
		}
		var set *ipset.Set
		if Sets != nil {
			set = Sets.Get(info.Name)
		}
		if set == nil {
			return nil, OtherErrorf("Set %s doesn't exist.", info.Name)
		}
		return set, nil
	}
	var err error
	if s.addBound, err = get(&s.AddSet); err != nil {
		return err
	}
	if s.delBound, err = get(&s.DelSet); err != nil {
		return err
	}
	s.mapBound, err = get(&s.MapSet)
	return err
}

// PacketLogic: --add-set and --del-set with any dimension count the
// kernel takes (directions beyond the set type's dimension ignored, fewer
// adding and deleting nothing), and --map-set.
func (s *SetTarget) PacketLogic() error { return nil }

// Target is set_target_v3: the packet's element added to --add-set and
// deleted from --del-set (errors ignored, as the kernel does); the
// packet continues.
func (s *SetTarget) Target(p *Pkt) Verdict {
	add := func(m *ipset.Set) bool {
		ip, ip2, proto, port, ok := setElem(p, s.AddSet.Dim, s.AddSet.Flags, m)
		if !ok {
			return false
		}
		if m.Type == ipset.TypeHashMAC {
			return m.KAddMAC(p.MAC, s.AddSet.Flags&(1<<1) != 0, uint64(len(p.B)), p.Time, s.Timeout, s.Timeout != 0xFFFFFFFF, s.Flags&IPSetFlagExist != 0)
		}
		if m.Type == ipset.TypeHashNetIface {
			return m.KAddIface(ip, setIface(p, s.AddSet.Flags), uint64(len(p.B)), p.Time, s.Timeout, s.Timeout != 0xFFFFFFFF, s.Flags&IPSetFlagExist != 0)
		}
		if m.Type == ipset.TypeBitmapIPMAC {
			return m.KAddIPMAC(ip, p.MAC, s.AddSet.Flags&(1<<2) != 0, uint64(len(p.B)), p.Time, s.Timeout, s.Timeout != 0xFFFFFFFF, s.Flags&IPSetFlagExist != 0)
		}
		return m.KAddElem(ip, ip2, proto, port, uint64(len(p.B)), p.Time, s.Timeout, s.Timeout != 0xFFFFFFFF, s.Flags&IPSetFlagExist != 0)
	}
	del := func(m *ipset.Set) bool {
		ip, ip2, proto, port, ok := setElem(p, s.DelSet.Dim, s.DelSet.Flags, m)
		if !ok {
			return false
		}
		if m.Type == ipset.TypeHashMAC {
			return m.KDelMAC(p.MAC, s.DelSet.Flags&(1<<1) != 0, p.Time)
		}
		if m.Type == ipset.TypeHashNetIface {
			return m.KDelIface(ip, setIface(p, s.DelSet.Flags), p.Time)
		}
		if m.Type == ipset.TypeBitmapIPMAC {
			return m.KDelIPMAC(ip, p.MAC, s.DelSet.Flags&(1<<2) != 0, p.Time)
		}
		return m.KDelElem(ip, ip2, proto, port, p.Time)
	}
	// list_set_kadd / list_set_kdel: the first member that takes the
	// element ends the walk.
	if s.addBound != nil {
		if s.addBound.Type == ipset.TypeListSet {
			s.addBound.EachMember(p.Time, add)
		} else {
			add(s.addBound)
		}
	}
	if s.delBound != nil {
		if s.delBound.Type == ipset.TypeListSet {
			s.delBound.EachMember(p.Time, del)
		} else {
			del(s.delBound)
		}
	}
	if s.mapBound != nil {
		s.mapSkb(p)
	}
	return VerdictContinue
}

// mapSkb is set_target_v3's --map-set: the packet tested against the set
// (counters updated, as a match does); on a match the element's skbinfo
// sets the mark (masked: mark = mark &^ mask ^ skbmark), the priority,
// and the queue. nfgo's devices have one transmit queue, so the queue
// mapping changes nothing (the kernel sets it only below
// real_num_tx_queues).
func (s *SetTarget) mapSkb(p *Pkt) {
	var skb ipset.SkbInfo
	cm := ipset.CounterMatch{Skb: &skb}
	var hit bool
	if s.mapBound.Type == ipset.TypeListSet {
		hit = s.mapBound.MatchList(uint64(len(p.B)), p.Time, true, cm, func(m *ipset.Set) bool {
			return setTest(p, s.MapSet.Dim, s.MapSet.Flags, m, true, ipset.CounterMatch{Skb: &skb}, false)
		})
	} else {
		hit = setTest(p, s.MapSet.Dim, s.MapSet.Flags, s.mapBound, true, cm, false)
	}
	if hit == (s.MapSet.Flags&IPSetInvMatch != 0) {
		return
	}
	if s.Flags&IPSetFlagMapSKBMark != 0 {
		p.Mark = p.Mark&^skb.Mask ^ skb.Mark
	}
	if s.Flags&IPSetFlagMapSKBPrio != 0 {
		p.Priority = skb.Prio
	}
}

// parseTarget is libxt_SET's parse_target: the set name, then the next
// word as the comma separated directions.
func (s *SetTarget) parseTarget(c *Ctx, info *SetInfo, name, what string) error {
	if info.Dim != 0 {
		return Errorf("--%s can be specified only once", what)
	}
	dirs, ok := c.PeekArg()
	if !ok || strings.HasPrefix(dirs, "-") || strings.HasPrefix(dirs, "!") {
		return Errorf("--%s requires two args.", what)
	}
	if len(name) > ipsetMaxNameLen-1 {
		return Errorf("setname `%s' too long, max %d characters.", name, ipsetMaxNameLen-1)
	}
	if err := checkSetExists(name); err != nil {
		return err
	}
	info.Name = name
	if err := setParseDirs(dirs, info); err != nil {
		return err
	}
	c.NextArg()
	return nil
}

// setParseDirs is libxt_set.h's parse_dirs: up to IPSET_DIM_MAX words,
// each starting with "src" or "dst".
func setParseDirs(arg string, info *SetInfo) error {
	rest, more := arg, true
	for info.Dim < ipsetDimMax && more {
		info.Dim++
		tok := rest
		if i := strings.IndexByte(rest, ','); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			more = false
		}
		if strings.HasPrefix(tok, "src") {
			info.Flags |= 1 << info.Dim
		} else if !strings.HasPrefix(tok, "dst") {
			// 1.8.13 fixed the typo ("specify"); the .t files do not
			// test this message, so this keeps 1.8.9's text.
			return Errorf("You must spefify (the comma separated list of) 'src' or 'dst'.")
		}
	}
	if more {
		return Errorf("Can't be more src/dst options than %d.", ipsetDimMax)
	}
	return nil
}

// Parse is set_target_parse_v3.
func (s *SetTarget) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "add-set":
		if err := s.parseTarget(c, &s.AddSet, arg, o.Name); err != nil {
			return err
		}
		s.opts |= setTargetAdd
	case "del-set":
		if err := s.parseTarget(c, &s.DelSet, arg, o.Name); err != nil {
			return err
		}
		s.opts |= setTargetDel
	case "exist":
		s.Flags |= IPSetFlagExist
		s.opts |= setTargetExist
	case "timeout":
		v, ok := ParseUint(arg, 0, 0xFFFFFFFF-1)
		if !ok {
			return Errorf("Invalid value for option --timeout or out of range 0-%d", uint32(0xFFFFFFFF-1))
		}
		s.Timeout = uint32(v)
		s.opts |= setTargetTimeout
	case "map-set":
		if err := s.parseTarget(c, &s.MapSet, arg, o.Name); err != nil {
			return err
		}
		s.opts |= setTargetMap
	case "map-mark":
		s.Flags |= IPSetFlagMapSKBMark
		s.opts |= setTargetMapMark
	case "map-prio":
		s.Flags |= IPSetFlagMapSKBPrio
		s.opts |= setTargetMapPrio
	case "map-queue":
		s.Flags |= IPSetFlagMapSKBQueue
		s.opts |= setTargetMapQueue
	}
	return nil
}

// Final is set_target_check_v3.
func (s *SetTarget) Final(c *Ctx) error {
	f := s.opts
	if f&(setTargetAdd|setTargetDel|setTargetMap) == 0 {
		return Errorf("You must specify either `--add-set' or `--del-set' or `--map-set'")
	}
	if f&setTargetAdd == 0 {
		if f&setTargetExist != 0 {
			return Errorf("Flag `--exist' can be used with `--add-set' only")
		}
		if f&setTargetTimeout != 0 {
			return Errorf("Option `--timeout' can be used with `--add-set' only")
		}
	}
	if f&setTargetMap == 0 {
		if f&setTargetMapMark != 0 {
			return Errorf("Flag `--map-mark' can be used with `--map-set' only")
		}
		if f&setTargetMapPrio != 0 {
			return Errorf("Flag `--map-prio' can be used with `--map-set' only")
		}
		if f&setTargetMapQueue != 0 {
			return Errorf("Flag `--map-queue' can be used with `--map-set' only")
		}
	}
	if f&setTargetMap != 0 && f&(setTargetMapMark|setTargetMapPrio|setTargetMapQueue) == 0 {
		return Errorf("You must specify flags `--map-mark' or '--map-prio` or `--map-queue'")
	}
	return nil
}

// Check is set_target_v3_checkentry's checks that do not depend on the
// sets themselves.
func (s *SetTarget) Check(c *Ctx) error {
	if s.MapSet.Dim != 0 {
		if c.Table != "mangle" {
			return EINVAL("--map-set only usable from mangle table")
		}
		if s.Flags&(IPSetFlagMapSKBPrio|IPSetFlagMapSKBQueue) != 0 &&
			c.Hooks&^(MaskFwd|MaskOut|MaskPost) != 0 {
			return EINVAL("mapping of prio or/and queue is allowed only from OUTPUT/FORWARD/POSTROUTING chains")
		}
	}
	return nil
}

// printTarget is libxt_SET's print_target.
func (info *SetInfo) print(b *strings.Builder, prefix string) {
	if info.Dim == 0 {
		return // IPSET_INVALID_ID: not given
	}
	b.WriteString(" " + prefix + " " + info.Name)
	for i := uint8(1); i <= info.Dim; i++ {
		if i == 1 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		if info.Flags&(1<<i) != 0 {
			b.WriteString("src")
		} else {
			b.WriteString("dst")
		}
	}
}

func (s *SetTarget) dump(b *strings.Builder, pfx string) {
	s.AddSet.print(b, pfx+"add-set")
	if s.Flags&IPSetFlagExist != 0 {
		b.WriteString(" " + pfx + "exist")
	}
	if s.Timeout != 0xFFFFFFFF {
		fmt.Fprintf(b, " %stimeout %d", pfx, s.Timeout)
	}
	s.DelSet.print(b, pfx+"del-set")
	s.MapSet.print(b, pfx+"map-set")
	if s.Flags&IPSetFlagMapSKBMark != 0 {
		b.WriteString(" " + pfx + "map-mark")
	}
	if s.Flags&IPSetFlagMapSKBPrio != 0 {
		b.WriteString(" " + pfx + "map-prio")
	}
	if s.Flags&IPSetFlagMapSKBQueue != 0 {
		b.WriteString(" " + pfx + "map-queue")
	}
}

func (s *SetTarget) Save(b *strings.Builder, c *Ctx) { s.dump(b, "--") }

func (s *SetTarget) Print(b *strings.Builder, c *Ctx, numeric bool) { s.dump(b, "") }

// SetNames lists the sets the target changes (each given one is a
// reference, as the kernel takes one per set in set_target_v3_checkentry).
func (s *SetTarget) SetNames() []string {
	var out []string
	for _, i := range []*SetInfo{&s.AddSet, &s.DelSet, &s.MapSet} {
		if i.Name != "" {
			out = append(out, i.Name)
		}
	}
	return out
}
