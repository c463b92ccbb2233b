package xt

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// owner: [!] --uid-owner user[-user] [!] --gid-owner group[-group]
// [!] --socket-exists --suppl-groups  (libxt_owner revision 1, struct
// xt_owner_match_info). The kernel allows it only in OUTPUT and
// POSTROUTING.

var ownerMatch = Def{
	Name:     "owner",
	Kind:     KindMatch,
	Revision: 1,
	Hooks:    MaskOut | MaskPost,
	Options: []Option{
		{Name: "uid-owner", Arg: true, Flags: OptInvert},
		{Name: "gid-owner", Arg: true, Flags: OptInvert},
		{Name: "socket-exists", Flags: OptInvert},
		{Name: "suppl-groups"},
	},
	New: func() Ext { return &Owner{} },
}

// Owner match flags (XT_OWNER_*), used in MatchFlags and Invert.
const (
	OwnerUID         = 0x01
	OwnerGID         = 0x02
	OwnerSocket      = 0x04
	OwnerSupplGroups = 0x08
)

// Owner is struct xt_owner_match_info.
type Owner struct {
	UIDMin, UIDMax uint32
	GIDMin, GIDMax uint32
	MatchFlags     uint8 // the kernel's "match" field
	Invert         uint8
}

// LookupUser is getpwnam: the uid of a user name. Tests may replace it.
var LookupUser = func(name string) (uint32, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(u.Uid, 10, 32)
	return uint32(v), err == nil
}

// LookupGroup is getgrnam: the gid of a group name.
var LookupGroup = func(name string) (uint32, bool) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(g.Gid, 10, 32)
	return uint32(v), err == nil
}

// UserName is getpwuid: the name of a uid.
var UserName = func(uid uint32) (string, bool) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil || u.Username == "" {
		return "", false
	}
	return u.Username, true
}

// GroupName is getgrgid: the name of a gid.
var GroupName = func(gid uint32) (string, bool) {
	g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10))
	if err != nil || g.Name == "" {
		return "", false
	}
	return g.Name, true
}

// ownerParseRange is owner_parse_range: "N", "N-M" or "N:M", each at most
// 2^32-2 (-1 is reserved).
func ownerParseRange(s, opt string) (from, to uint32, err error) {
	bad := Errorf("owner: Bad value for \"%s\" option: \"%s\"", opt, s)
	v, rest, ok := XtablesStrtoul(s, 0, 1<<32-2)
	if !ok {
		return 0, 0, bad
	}
	from, to = uint32(v), uint32(v)
	if rest != "" && (rest[0] == '-' || rest[0] == ':') {
		v, rest, ok = XtablesStrtoul(rest[1:], 0, 1<<32-2)
		if !ok {
			return 0, 0, bad
		}
		to = uint32(v)
	}
	if rest != "" {
		return 0, 0, bad
	}
	return from, to, nil
}

func (o *Owner) Parse(c *Ctx, opt *Option, arg string, invert bool) error {
	var flag uint8
	switch opt.Name {
	case "uid-owner":
		flag = OwnerUID
		if id, ok := LookupUser(arg); ok {
			o.UIDMin, o.UIDMax = id, id
		} else {
			from, to, err := ownerParseRange(arg, "--uid-owner")
			if err != nil {
				return err
			}
			o.UIDMin, o.UIDMax = from, to
		}
	case "gid-owner":
		flag = OwnerGID
		if id, ok := LookupGroup(arg); ok {
			o.GIDMin, o.GIDMax = id, id
		} else {
			from, to, err := ownerParseRange(arg, "--gid-owner")
			if err != nil {
				return err
			}
			o.GIDMin, o.GIDMax = from, to
		}
	case "socket-exists":
		flag = OwnerSocket
	case "suppl-groups":
		if o.MatchFlags&OwnerGID == 0 {
			return Errorf("owner: Bad value for \"%s\" option: \"%s\"", "--suppl-groups", "you need to use --gid-owner first")
		}
		flag = OwnerSupplGroups
	}
	if invert {
		o.Invert |= flag
	}
	o.MatchFlags |= flag
	return nil
}

func (o *Owner) Final(c *Ctx) error {
	if o.MatchFlags == 0 {
		return Errorf("owner: At least one of --uid-owner, --gid-owner or --socket-exists is required")
	}
	return nil
}

// Check is the kernel's owner_check: ranges must not be reversed.
func (o *Owner) Check(c *Ctx) error {
	if o.MatchFlags&OwnerUID != 0 && o.UIDMax < o.UIDMin {
		return EINVAL("xt_owner: uid range %d-%d is reversed", o.UIDMin, o.UIDMax)
	}
	if o.MatchFlags&OwnerGID != 0 && o.GIDMax < o.GIDMin {
		return EINVAL("xt_owner: gid range %d-%d is reversed", o.GIDMin, o.GIDMax)
	}
	return nil
}

// item is owner_mt_print_item.
func (o *Owner) item(b *strings.Builder, label string, flag uint8, numeric bool) {
	if o.MatchFlags&flag == 0 {
		return
	}
	if o.Invert&flag != 0 {
		b.WriteString(" !")
	}
	b.WriteString(" " + label)
	switch flag {
	case OwnerUID:
		if o.UIDMin != o.UIDMax {
			fmt.Fprintf(b, " %d-%d", o.UIDMin, o.UIDMax)
			return
		}
		if !numeric {
			if n, ok := UserName(o.UIDMin); ok {
				b.WriteString(" " + n)
				return
			}
		}
		fmt.Fprintf(b, " %d", o.UIDMin)
	case OwnerGID:
		if o.GIDMin != o.GIDMax {
			fmt.Fprintf(b, " %d-%d", o.GIDMin, o.GIDMax)
			return
		}
		if !numeric {
			if n, ok := GroupName(o.GIDMin); ok {
				b.WriteString(" " + n)
				return
			}
		}
		fmt.Fprintf(b, " %d", o.GIDMin)
	}
}

func (o *Owner) Save(b *strings.Builder, c *Ctx) {
	o.item(b, "--socket-exists", OwnerSocket, true)
	o.item(b, "--uid-owner", OwnerUID, true)
	o.item(b, "--gid-owner", OwnerGID, true)
	o.item(b, "--suppl-groups", OwnerSupplGroups, true)
}

func (o *Owner) Print(b *strings.Builder, c *Ctx, numeric bool) {
	o.item(b, "owner socket exists", OwnerSocket, numeric)
	o.item(b, "owner UID match", OwnerUID, numeric)
	o.item(b, "owner GID match", OwnerGID, numeric)
	o.item(b, "incl. suppl. groups", OwnerSupplGroups, numeric)
}

// Match is owner_mt. p.Sock is the packet's full socket; nil stands for
// every case where the kernel finds none (received and forwarded packets,
// packets the kernel sends itself, time-wait and request sockets): then
// the rule matches only if every option it has is inverted
// ((match ^ invert) == 0), so "! --socket-exists" and "! --uid-owner 0"
// match while "--suppl-groups" (never inverted) does not. With a socket,
// "! --socket-exists" fails; the uid is compared with the socket's fsuid
// (Sock.UID), the gid with its fsgid (Sock.GID) and, with --suppl-groups,
// its supplementary groups. nfgo's sockets always have a file and live in
// the packet's namespace.
func (o *Owner) Match(p *Pkt) bool {
	sk := p.Sock
	if sk == nil {
		return o.MatchFlags^o.Invert == 0
	}
	if o.MatchFlags&o.Invert&OwnerSocket != 0 {
		return false
	}
	if o.MatchFlags&OwnerUID != 0 {
		in := sk.UID >= o.UIDMin && sk.UID <= o.UIDMax
		if in == (o.Invert&OwnerUID != 0) {
			return false
		}
	}
	if o.MatchFlags&OwnerGID != 0 {
		in := sk.GID >= o.GIDMin && sk.GID <= o.GIDMax
		if !in && o.MatchFlags&OwnerSupplGroups != 0 {
			for _, g := range sk.Groups {
				if g >= o.GIDMin && g <= o.GIDMax {
					in = true
					break
				}
			}
		}
		if in == (o.Invert&OwnerGID != 0) {
			return false
		}
	}
	return true
}
