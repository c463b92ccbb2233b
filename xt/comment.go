package xt

import "strings"

// comment: --comment TEXT  (libxt_comment, struct xt_comment_info).

var commentMatch = Def{
	Name: "comment",
	Kind: KindMatch,
	Options: []Option{
		{Name: "comment", Arg: true, Flags: OptMand},
	},
	New: func() Ext { return &Comment{} },
}

// CommentMaxLen is XT_MAX_COMMENT_LEN.
const CommentMaxLen = 256

// Comment is struct xt_comment_info.
type Comment struct {
	Comment string // at most CommentMaxLen-1 bytes
}

// Parse is xtopt_parse_string with XTOPT_PUT: the text is cut to fit the
// 256-byte field with its NUL (1.8.9 silently truncates a longer comment).
func (m *Comment) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	if len(arg) >= CommentMaxLen {
		arg = arg[:CommentMaxLen-1]
	}
	// strncpy stops at a NUL; command-line words cannot hold one.
	m.Comment = arg
	return nil
}

func (m *Comment) Final(c *Ctx) error { return nil }

// SaveString is xtables_save_string: " word" when the text is only
// letters, digits, '_' and '-', else a double-quoted string in which
// double quotes, backslashes and single quotes are escaped by a backslash.
func SaveString(b *strings.Builder, s string) {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	b.WriteByte(' ')
	if plain {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\\', '\'':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

func (m *Comment) Save(b *strings.Builder, c *Ctx) {
	b.WriteString(" --comment")
	SaveString(b, m.Comment)
}

func (m *Comment) Print(b *strings.Builder, c *Ctx, numeric bool) {
	b.WriteString(" /* " + m.Comment + " */")
}

// Match is xt_comment's comment_mt: it always matches.
func (m *Comment) Match(p *Pkt) bool { return true }
