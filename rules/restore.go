package rules

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/nfgo/nfgo/xt"
)

// RestoreOptions are iptables-restore's flags.
type RestoreOptions struct {
	Counters bool   // -c
	NoFlush  bool   // -n
	Test     bool   // -t: parse and check, commit nothing
	Table    string // -T: restore only this table
	Verbose  int
	Prog     string // program name in messages, "iptables-restore"
	// Warn receives the warnings iptables prints to stderr while parsing
	// a rule line; nil drops them.
	Warn func(string)
}

// RestoreError is a failed restore, with what iptables-restore prints.
type RestoreError struct {
	Status int
	Text   string // the whole stderr text
}

func (e *RestoreError) Error() string { return strings.TrimRight(e.Text, "\n") }

// FormatToolError renders an error the way the xtables tools print it:
// "prog vVERSION: msg" plus the hint for the error's status. line > 0 adds
// "Error occurred at line: N" (iptables-restore).
func FormatToolError(prog string, err error, line int) (string, int) {
	var b strings.Builder
	switch e := err.(type) {
	case *BadArgError:
		fmt.Fprintf(&b, "Bad argument `%s'\n", e.Arg)
		if line > 0 {
			fmt.Fprintf(&b, "Error occurred at line: %d\n", line)
		}
		fmt.Fprintf(&b, "Try `%s -h' or '%s --help' for more information.\n", prog, prog)
		return b.String(), xt.ParameterProblem
	case *xt.Error:
		if e == errTryHelpOnly {
			if line > 0 {
				fmt.Fprintf(&b, "Error occurred at line: %d\n", line)
			}
			fmt.Fprintf(&b, "Try `%s -h' or '%s --help' for more information.\n", prog, prog)
			return b.String(), xt.ParameterProblem
		}
		fmt.Fprintf(&b, "%s v%s: %s\n", prog, Version, e.Msg)
		switch e.Status {
		case xt.ParameterProblem:
			if line > 0 {
				fmt.Fprintf(&b, "Error occurred at line: %d\n", line)
			}
			fmt.Fprintf(&b, "Try `%s -h' or '%s --help' for more information.\n", prog, prog)
		case xt.VersionProblem:
			fmt.Fprintf(&b, "Perhaps %s or your kernel needs to be upgraded.\n", prog)
		}
		return b.String(), e.Status
	case *OpError:
		// iptables-standalone.c adds the dmesg hint when errno is
		// EINVAL (whatever the kernel logged): plain "Invalid argument"
		// and libiptc's EINVAL wordings.
		switch e.Msg {
		case "Invalid argument", "Bad policy name", "Can't delete built-in chain", "Target problem", "Module is wrong version":
			fmt.Fprintf(&b, "iptables: %s. Run `dmesg' for more information.\n", e.Msg)
		default:
			fmt.Fprintf(&b, "iptables: %s.\n", e.Msg)
		}
		return b.String(), xt.OtherProblem
	}
	fmt.Fprintf(&b, "%s v%s: %s\n", prog, Version, err)
	return b.String(), xt.OtherProblem
}

// tokenizeRestoreLine is add_param_to_argv: split on blanks, with double
// quotes and backslash escapes inside quotes. A closing quote ends the
// word at once.
func tokenizeRestoreLine(s string) []string { return appendRestoreWords(nil, s) }

// appendRestoreWords appends the words of a restore line to out.
func appendRestoreWords(out []string, s string) []string {
	if strings.IndexByte(s, '"') < 0 {
		// No quotes: the words are the blank-separated runs, taken as
		// substrings of the line without copying.
		start := -1
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == ' ' || c == '\t' || c == '\n' {
				if start >= 0 {
					out = append(out, s[start:i])
					start = -1
				}
			} else if start < 0 {
				start = i
			}
		}
		if start >= 0 {
			out = append(out, s[start:])
		}
		return out
	}
	// Collect every word's bytes in one buffer and convert once; the
	// words are then substrings of that one string.
	buf := make([]byte, 0, len(s))
	var ends []int
	quoteOpen, escaped, open := false, false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if quoteOpen {
			if escaped {
				buf = append(buf, ch)
				escaped = false
				continue
			} else if ch == '\\' {
				escaped = true
				continue
			} else if ch == '"' {
				quoteOpen = false
			} else {
				buf = append(buf, ch)
				continue
			}
		} else if ch == '"' {
			quoteOpen, open = true, true
			continue
		}
		switch ch {
		case '"':
		case ' ', '\t', '\n':
			if !open {
				continue
			}
		default:
			buf = append(buf, ch)
			open = true
			continue
		}
		ends = append(ends, len(buf))
		open = false
	}
	last := 0
	if len(ends) > 0 {
		last = ends[len(ends)-1]
	}
	if len(buf) > last {
		ends = append(ends, len(buf))
	}
	all := string(buf)
	prev := 0
	for _, e := range ends {
		out = append(out, all[prev:e])
		prev = e
	}
	return out
}

// tokenizeCounters is tokenize_rule_counters: "[p:b] rest".
func tokenizeCounters(s string, line int) (pcnt, bcnt, rest string, ok bool, err error) {
	if !strings.HasPrefix(s, "[") {
		return "", "", s, false, nil
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", "", "", false, xt.Errorf("Bad line %d: need ]", line)
	}
	inner := s[1:]
	// strtok(buffer+1, ":") then strtok(NULL, "]")
	inner = strings.TrimLeft(inner, ":")
	colon := strings.IndexByte(inner, ':')
	if inner == "" {
		return "", "", "", false, xt.Errorf("Bad line %d: need :", line)
	}
	if colon < 0 {
		pcnt = inner
		return "", "", "", false, xt.Errorf("Bad line %d: need ]", line)
	}
	pcnt = inner[:colon]
	after := strings.TrimLeft(inner[colon+1:], "]")
	if after == "" {
		return "", "", "", false, xt.Errorf("Bad line %d: need ]", line)
	}
	if j := strings.IndexByte(after, ']'); j >= 0 {
		bcnt = after[:j]
	} else {
		bcnt = after
	}
	return pcnt, bcnt, s[end+1:], true, nil
}

func parseCounterPair(s string) (Counters, bool) {
	var c Counters
	if !strings.HasPrefix(s, "[") {
		return c, false
	}
	n, err := fmt.Sscanf(s, "[%d:%d]", &c.Packets, &c.Bytes)
	return c, err == nil && n == 2
}

// Restore runs an iptables-restore input against rs, committing each table
// at its COMMIT line (a failing table leaves rs as it was for that table).
// out receives what -v prints. It returns the tables committed, in order.
func Restore(rs *Ruleset, in io.Reader, o RestoreOptions, out io.Writer) ([]string, error) {
	prog := o.Prog
	if prog == "" {
		prog = "iptables-restore"
	}
	fail := func(err error, line int) error {
		text, st := FormatToolError(prog, err, line)
		return &RestoreError{Status: st, Text: text}
	}
	failLine := func(line int) error {
		return &RestoreError{Status: 1, Text: fmt.Sprintf("%s: line %d failed\n", prog, line)}
	}
	var committed []string
	br := bufio.NewReaderSize(in, 64*1024)
	line := 0
	inTable := false
	curTable := ""
	var work *Table     // the table being built (a copy)
	var argBuf []string // reused for each line's words
	canon := &xt.Ctx{}
	skipping := false
	// The table block's changes, for its policies' counters at COMMIT: a
	// block that changed nothing (-n, no lines) is not committed; the
	// chains whose policy a line set keep what it gave them.
	blockChanged := false
	var policySet map[string]bool
	for {
		raw, rerr := br.ReadString('\n')
		if raw == "" && rerr != nil {
			break
		}
		line++
		ret := false
		switch {
		case raw == "\n":
			continue
		case raw[0] == '#':
			if o.Verbose > 0 {
				io.WriteString(out, raw)
			}
			continue
		case raw == "COMMIT\n" && inTable:
			if !skipping {
				if err := CheckTable(rs.Family, work); err != nil {
					return committed, failLine(line)
				}
				if !o.NoFlush || blockChanged {
					work.CommitPolicyCounters(policySet)
				}
				if !o.Test {
					replaceTable(rs, work)
					committed = append(committed, work.Name)
				}
			}
			work = nil
			inTable = false
			ret = true
		case raw[0] == '*' && !inTable:
			f := strings.Fields(raw[1:])
			if len(f) == 0 {
				return committed, fail(xt.Errorf("%s: line %d table name invalid", prog, line), line)
			}
			table := f[0]
			if len(table) > 32 {
				table = table[:32]
			}
			curTable = table
			if o.Table != "" && o.Table != table {
				skipping = true
				inTable = true
				continue
			}
			skipping = false
			blockChanged, policySet = false, map[string]bool{}
			if BuiltinTable(table) == nil {
				return committed, fail(xt.Errorf("%s: unable to initialize table '%s'", prog, table), line)
			}
			if t := rs.Table(table); t != nil {
				work = t.Clone()
			} else {
				spec := BuiltinTable(table)
				work = &Table{Name: table}
				for _, h := range spec.Hooks {
					work.Chains = append(work.Chains, &Chain{Name: HookChainName[h], Builtin: true, Hook: h, Policy: VerdictAccept})
				}
			}
			if !o.NoFlush {
				for _, c := range work.Chains {
					if o.Verbose > 0 {
						fmt.Fprintf(out, "Flushing chain `%s'\n", c.Name)
					}
					c.Rules = nil
				}
				var keep []*Chain
				for _, c := range work.Chains {
					if c.Builtin {
						keep = append(keep, c)
					} else if o.Verbose > 0 {
						fmt.Fprintf(out, "Deleting chain `%s'\n", c.Name)
					}
				}
				work.Chains = keep
				work.chainsChanged()
			}
			inTable = true
			ret = true
		case raw[0] == ':' && inTable:
			if skipping {
				continue
			}
			f := strings.Fields(raw[1:])
			if len(f) == 0 {
				return committed, fail(xt.Errorf("%s: line %d chain name invalid", prog, line), line)
			}
			chain := f[0]
			if len(chain) >= 29 {
				return committed, fail(xt.Errorf("Invalid chain name `%s' (%d chars max)", chain, 28), line)
			}
			c := work.Chain(chain)
			if c == nil || !c.Builtin {
				if o.NoFlush && c != nil {
					c.Rules = nil
				} else {
					if c != nil {
						return committed, fail(xt.Errorf("error creating chain '%s':%s", chain, "File exists"), line)
					}
					addUserChain(work, &Chain{Name: chain})
				}
			}
			if len(f) < 2 {
				return committed, fail(xt.Errorf("%s: line %d policy invalid", prog, line), line)
			}
			policy := f[1]
			if policy != "-" {
				var cnt Counters
				if o.Counters {
					ok := false
					if len(f) >= 3 {
						cnt, ok = parseCounterPair(f[2])
					}
					if !ok {
						return committed, fail(xt.Errorf("invalid policy counters for chain '%s'", chain), line)
					}
				}
				c := work.Chain(chain)
				var msg string
				if !c.Builtin {
					msg = ErrBadBuiltin.Msg
				} else if policy != VerdictAccept && policy != VerdictDrop {
					msg = errBadPolicyName.Msg
				}
				if msg != "" {
					return committed, fail(xt.OtherErrorf("Can't set policy `%s' on `%s' line %d: %s", policy, chain, line, msg), line)
				}
				c.Policy = policy
				c.Counters = cnt
				policySet[chain] = true
			}
			blockChanged = true
			ret = true
		case inTable:
			if skipping {
				continue
			}
			text := raw
			pcnt, bcnt, rest, has, err := tokenizeCounters(text, line)
			if err != nil {
				return committed, fail(err, line)
			}
			args := append(argBuf[:0], "-t", curTable)
			if !o.NoFlush {
				for i := 0; i < o.Verbose; i++ {
					args = append(args, "-v")
				}
			}
			if o.Counters && has {
				args = append(args, "--set-counters", pcnt, bcnt)
			}
			args = appendRestoreWords(args, rest)
			argBuf = args
			p, err := ParseCommandWarn(args, rs.Family, true, "", o.Warn)
			if err != nil {
				if IsSkipLine(err) {
					continue
				}
				return committed, fail(err, line)
			}
			if p.Table != curTable {
				return committed, failLine(line)
			}
			if err := ResolveJump(work, p); err != nil {
				return committed, fail(err, line)
			}
			// A line already in canonical form reads back as itself; others
			// are checked to survive the text store.
			if p.Command&(CmdAppend|CmdInsert|CmdReplace) != 0 && len(p.Srcs) == 1 && len(p.Dsts) == 1 {
				r := *p.Rule
				r.IP.Src, r.IP.SrcMask = p.Srcs[0].Addr, p.Srcs[0].Mask
				r.IP.Dst, r.IP.DstMask = p.Dsts[0].Addr, p.Dsts[0].Mask
				canon.Family, canon.Table = rs.Family, curTable
				canon.Proto, canon.ProtoInv = r.IP.Proto, r.IP.Inv&InvProto != 0
				text := r.SaveText(canon)
				if strings.TrimSpace(rest) != "-A "+p.Chain+text {
					if err := CheckStorable(rs.Family, curTable, p.Chain, &r); err != nil {
						return committed, fail(err, line)
					}
				} else if p.Rule != nil && !hasStoreSaver(&r) {
					// Canonical and without a fuller store form: the store
					// can write this text as it is.
					p.Rule.saved = text
				}
			}
			if err := CheckStorableName(p); err != nil {
				return committed, fail(err, line)
			}
			changed, err := Apply(rs, work, p, out)
			if err != nil {
				if _, ok := err.(*OpError); ok {
					return committed, failLine(line)
				}
				return committed, fail(err, line)
			}
			blockChanged = blockChanged || changed
			ret = true
		}
		if o.Table != "" && o.Table != curTable {
			continue
		}
		if !ret {
			return committed, failLine(line)
		}
		if rerr != nil {
			break
		}
	}
	if inTable {
		return committed, &RestoreError{Status: 1, Text: fmt.Sprintf("%s: COMMIT expected at line %d\n", prog, line+1)}
	}
	return committed, nil
}

// replaceTable installs t in rs, keeping rs's table order (a new table
// goes first, as the kernel lists the newest table first).
func replaceTable(rs *Ruleset, t *Table) {
	for i, x := range rs.Tables {
		if x.Name == t.Name {
			rs.Tables[i] = t
			return
		}
	}
	rs.Tables = append([]*Table{t}, rs.Tables...)
}

// LoadSaved reads a file written by WriteSave (iptables-save -c format),
// keeping its table order.
func LoadSaved(family xt.Family, in io.Reader) (*Ruleset, error) {
	rs := NewRuleset(family)
	names, err := Restore(rs, in, RestoreOptions{Counters: true}, io.Discard)
	if err != nil {
		return nil, err
	}
	ordered := make([]*Table, 0, len(names))
	for _, n := range names {
		ordered = append(ordered, rs.Table(n))
	}
	rs.Tables = ordered
	return rs, nil
}
