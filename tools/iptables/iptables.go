// Package iptables implements the iptables, iptables-save and
// iptables-restore commands over the rule store: the same options, output,
// messages and exit statuses as iptables-legacy 1.8.9.
package iptables

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/nfgo/nfgo/internal/setlink"
	"github.com/nfgo/nfgo/rules"
	"github.com/nfgo/nfgo/store"
	"github.com/nfgo/nfgo/xt"
)

// Env is the process environment a command runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	StateDir       string // "" = store.Dir()
	// Sets answers whether an ipset exists (for -m set and -j SET); nil
	// looks in the state directory's ipset store.
	Sets func(name string) (xt.Family, bool)
}

// useSets points the set lookups of this command at the right sets.
func (e *Env) useSets() {
	if e.Sets != nil {
		xt.LookupSet = e.Sets
		return
	}
	dir := e.StateDir
	if dir == "" {
		dir = store.Dir()
	}
	xt.LookupSet = setlink.LookupFrom(dir)
}

func (e *Env) store() (*store.Store, error) {
	dir := e.StateDir
	if dir == "" {
		dir = store.Dir()
	}
	return store.Open(dir)
}

func lockBusy(env *Env, wait int) int {
	fmt.Fprint(env.Stderr, "Another app is currently holding the xtables lock. ")
	if wait == 0 {
		fmt.Fprint(env.Stderr, "Perhaps you want to use the -w option?\n")
	} else {
		fmt.Fprintf(env.Stderr, "Stopped waiting after %ds.\n", wait)
	}
	return xt.ResourceProblem
}

// Main runs "iptables ARGS..." and returns the exit status.
func Main(args []string, env *Env) int {
	const prog = "iptables"
	env.useSets()
	p, err := rules.ParseCommandWarn(args, xt.FamilyIPv4, false, "", func(m string) { fmt.Fprintln(env.Stderr, m) })
	if err != nil {
		if p != nil {
			for _, w := range p.Warnings {
				fmt.Fprintln(env.Stderr, w)
			}
		}
		text, st := rules.FormatToolError(prog, err, 0)
		io.WriteString(env.Stderr, text)
		return st
	}
	if p.Version != "" {
		fmt.Fprintln(env.Stdout, p.Version)
		return 0
	}
	if p.Help {
		io.WriteString(env.Stdout, helpText)
		return 0
	}
	st, err := env.store()
	if err != nil {
		fmt.Fprintf(env.Stderr, "iptables: %v\n", err)
		return xt.OtherProblem
	}
	lock, err := st.Lock(p.Wait)
	if err == store.ErrBusy {
		return lockBusy(env, p.Wait)
	} else if err != nil {
		fmt.Fprintf(env.Stderr, "iptables: %v\n", err)
		return xt.ResourceProblem
	}
	defer lock.Unlock()
	rs, err := st.Load(xt.FamilyIPv4)
	if err != nil {
		fmt.Fprintf(env.Stderr, "iptables: %v\n", err)
		return xt.OtherProblem
	}
	// Initialising a table is like loading its module: it stays, even if
	// the command then fails.
	existed := rs.Table(p.Table) != nil
	if !existed {
		if rules.BuiltinTable(p.Table) == nil {
			text, code := rules.FormatToolError(prog, &xt.Error{Status: xt.VersionProblem,
				Msg: fmt.Sprintf("can't initialize iptables table `%s': Table does not exist (do you need to insmod?)", p.Table)}, 0)
			io.WriteString(env.Stderr, text)
			return code
		}
		rs.EnsureTable(p.Table)
		if err := st.Save(rs); err != nil {
			fmt.Fprintf(env.Stderr, "iptables: %v\n", err)
			return xt.OtherProblem
		}
	}
	work := rs.Clone()
	t := work.Table(p.Table)
	if err := rules.ResolveJump(t, p); err != nil {
		text, st := rules.FormatToolError(prog, err, 0)
		io.WriteString(env.Stderr, text)
		return st
	}
	for _, w := range p.Warnings {
		if strings.HasPrefix(w, "Warning: using chain") {
			fmt.Fprintln(env.Stderr, w)
		}
	}
	if p.Command&(rules.CmdAppend|rules.CmdInsert|rules.CmdReplace) != 0 {
		if err := rules.CheckStorable(work.Family, t.Name, p.Chain, p.Rule); err != nil {
			text, st := rules.FormatToolError(prog, err, 0)
			io.WriteString(env.Stderr, text)
			return st
		}
	}
	if err := rules.CheckStorableName(p); err != nil {
		text, st := rules.FormatToolError(prog, err, 0)
		io.WriteString(env.Stderr, text)
		return st
	}
	var out bytes.Buffer
	changed, err := rules.Apply(work, t, p, &out)
	env.Stdout.Write(out.Bytes())
	if err == nil && changed {
		t.CommitPolicyCounters(nil)
		err = rules.CheckTable(work.Family, t)
		if err == nil {
			err = st.Save(work)
		}
	}
	if err != nil {
		text, st := rules.FormatToolError(prog, err, 0)
		io.WriteString(env.Stderr, text)
		return st
	}
	return 0
}

// toolOpt is one long option of the save/restore tools' own getopt_long.
type toolOpt struct {
	long   string
	short  byte
	hasArg int // 0 none, 1 required, 2 optional
}

type toolArg struct {
	c   byte
	arg string
	has bool
}

// toolGetopt is getopt_long as glibc runs it for iptables-save and
// iptables-restore, messages included (they go to stderr as "PROG: ...").
// takeNext lists options whose handler takes the following word when it
// does not start with '-' or '!' (iptables' xs_has_arg, for -w and -W).
func toolGetopt(prog string, args []string, shorts string, longs []toolOpt, takeNext string, stderr io.Writer) (opts []toolArg, rest []string, bad bool) {
	hasArg := func(c byte) int {
		i := strings.IndexByte(shorts, c)
		if i < 0 || c == ':' {
			return -1
		}
		n := 0
		for j := i + 1; j < len(shorts) && shorts[j] == ':'; j++ {
			n++
		}
		return n
	}
	xsHasArg := func(i int) bool {
		return i < len(args) && !strings.HasPrefix(args[i], "-") && !strings.HasPrefix(args[i], "!")
	}
	var nonopts []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			nonopts = append(nonopts, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, eq := a[2:], "", false
			if j := strings.IndexByte(name, '='); j >= 0 {
				name, val, eq = name[:j], name[j+1:], true
			}
			var found *toolOpt
			var cands []string
			for k := range longs {
				if longs[k].long == name {
					found, cands = &longs[k], nil
					break
				}
				if strings.HasPrefix(longs[k].long, name) && name != "" {
					cands = append(cands, "'--"+longs[k].long+"'")
					if found == nil {
						found = &longs[k]
					}
				}
			}
			if len(cands) > 1 {
				fmt.Fprintf(stderr, "%s: option '%s' is ambiguous; possibilities: %s\n", prog, "--"+name, strings.Join(cands, " "))
				return nil, nil, true
			}
			if found == nil {
				fmt.Fprintf(stderr, "%s: unrecognized option '%s'\n", prog, a)
				return nil, nil, true
			}
			switch found.hasArg {
			case 0:
				if eq {
					fmt.Fprintf(stderr, "%s: option '--%s' doesn't allow an argument\n", prog, found.long)
					return nil, nil, true
				}
				ta := toolArg{c: found.short}
				if strings.IndexByte(takeNext, found.short) >= 0 && xsHasArg(i+1) {
					i++
					ta.arg, ta.has = args[i], true
				}
				opts = append(opts, ta)
			case 1:
				if !eq {
					if i+1 >= len(args) {
						fmt.Fprintf(stderr, "%s: option '--%s' requires an argument\n", prog, found.long)
						return nil, nil, true
					}
					i++
					val = args[i]
				}
				opts = append(opts, toolArg{found.short, val, true})
			case 2:
				opts = append(opts, toolArg{found.short, val, eq})
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			nonopts = append(nonopts, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch hasArg(c) {
			case -1:
				fmt.Fprintf(stderr, "%s: invalid option -- '%c'\n", prog, c)
				return nil, nil, true
			case 0:
				ta := toolArg{c: c}
				if j == len(a)-1 && strings.IndexByte(takeNext, c) >= 0 && xsHasArg(i+1) {
					i++
					ta.arg, ta.has = args[i], true
				}
				opts = append(opts, ta)
			case 1:
				if j+1 < len(a) {
					opts = append(opts, toolArg{c, a[j+1:], true})
				} else if i+1 < len(args) {
					i++
					opts = append(opts, toolArg{c, args[i], true})
				} else {
					fmt.Fprintf(stderr, "%s: option requires an argument -- '%c'\n", prog, c)
					return nil, nil, true
				}
				j = len(a)
			default:
				if j+1 < len(a) {
					opts = append(opts, toolArg{c, a[j+1:], true})
				} else {
					opts = append(opts, toolArg{c: c})
				}
				j = len(a)
			}
		}
	}
	return opts, nonopts, false
}

// SaveMain runs "iptables-save ARGS...".
func SaveMain(args []string, env *Env) int {
	const prog = "iptables-save"
	env.useSets()
	opts, rest, bad := toolGetopt(prog, args, "bcdt:M:f:V", []toolOpt{
		{"counters", 'c', 0}, {"dump", 'd', 0}, {"table", 't', 1}, {"modprobe", 'M', 1},
		{"file", 'f', 1}, {"version", 'V', 0},
	}, "", env.Stderr)
	if bad {
		fmt.Fprintf(env.Stderr, "Look at manual page `%s.8' for more information.\n", prog)
		return 1
	}
	counters := false
	table := ""
	out := env.Stdout
	var outFile *os.File
	for _, o := range opts {
		switch o.c {
		case 'b':
			fmt.Fprintf(env.Stderr, "-b/--binary option is not implemented\n")
		case 'c':
			counters = true
		case 't':
			table = o.arg
		case 'f':
			f, err := os.Create(o.arg)
			if err != nil {
				fmt.Fprintf(env.Stderr, "Failed to open file, error: %s\n", errText(err))
				return 1
			}
			outFile = f
			out = f
		case 'V':
			fmt.Fprintf(env.Stdout, "%s v%s\n", prog, rules.Version)
			return 0
		}
	}
	if outFile != nil {
		defer outFile.Close()
	}
	if len(rest) > 0 {
		fmt.Fprintf(env.Stderr, "Unknown arguments found on commandline\n")
		return 1
	}
	st, err := env.store()
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	lock, err := st.Lock(-1)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	defer lock.Unlock()
	rs, err := st.Load(xt.FamilyIPv4)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	if table != "" && rs.Table(table) == nil {
		if rules.BuiltinTable(table) == nil {
			fmt.Fprintf(env.Stderr, "%s v%s: Cannot initialize: Table does not exist (do you need to insmod?)\n", prog, rules.Version)
			return 1
		}
		rs.EnsureTable(table)
		if err := st.Save(rs); err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
			return 1
		}
	}
	rules.WriteSave(out, rs, table, counters)
	return 0
}

// errText is strerror's text for err: Go's errno strings are glibc's with
// the first letter lowered ("no such file or directory").
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	s := err.Error()
	if _, ok := err.(syscall.Errno); ok && s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// RestoreMain runs "iptables-restore ARGS... [FILE]".
func RestoreMain(args []string, env *Env) int {
	const prog = "iptables-restore"
	env.useSets()
	opts, rest, bad := toolGetopt(prog, args, "bcvVthnwWM:T:", []toolOpt{
		{"counters", 'c', 0}, {"verbose", 'v', 0}, {"version", 'V', 0}, {"test", 't', 0},
		{"help", 'h', 0}, {"noflush", 'n', 0}, {"modprobe", 'M', 1}, {"table", 'T', 1},
		{"wait", 'w', 2}, {"wait-interval", 'W', 2},
	}, "wW", env.Stderr)
	if bad {
		fmt.Fprintf(env.Stderr, "Try `%s -h' for more information.\n", prog)
		return 1
	}

	var o rules.RestoreOptions
	o.Prog = prog
	o.Warn = func(m string) { fmt.Fprintln(env.Stderr, m) }
	wait := 0
	waitInterval := false
	for _, a := range opts {
		switch a.c {
		case 'b':
			fmt.Fprintf(env.Stderr, "-b/--binary option is not implemented\n")
		case 'c':
			o.Counters = true
		case 'v':
			o.Verbose++
		case 'V':
			fmt.Fprintf(env.Stdout, "%s v%s\n", prog, rules.Version)
			return 0
		case 't':
			o.Test = true
		case 'h':
			fmt.Fprintf(env.Stdout, restoreUsage, prog)
			return 0
		case 'n':
			o.NoFlush = true
		case 'T':
			o.Table = a.arg
		case 'w':
			wait = -1
			if a.has {
				if _, err := fmt.Sscanf(a.arg, "%d", &wait); err != nil {
					text, st := rules.FormatToolError(prog, xt.Errorf("wait seconds not numeric"), 0)
					io.WriteString(env.Stderr, text)
					return st
				}
			}
		case 'W':
			// parse_wait_interval: the value is only checked, then ignored.
			var msg string
			var usec uint64
			switch {
			case !a.has:
				msg = "wait interval value required"
			default:
				if _, err := fmt.Sscanf(a.arg, "%d", &usec); err != nil {
					msg = "wait interval not numeric"
				} else if usec > 999999 {
					msg = fmt.Sprintf("too long usec wait %d > 999999 usec", usec)
				}
			}
			if msg != "" {
				text, st := rules.FormatToolError(prog, xt.Errorf("%s", msg), 0)
				io.WriteString(env.Stderr, text)
				return st
			}
			fmt.Fprintln(env.Stderr, "Ignoring deprecated --wait-interval option.")
			waitInterval = true
		}
	}
	in := env.Stdin
	if len(rest) == 1 {
		f, err := os.Open(rest[0])
		if err != nil {
			fmt.Fprintf(env.Stderr, "Can't open %s: %s\n", rest[0], errText(err))
			return 1
		}
		defer f.Close()
		in = f
	} else if len(rest) > 1 {
		fmt.Fprintf(env.Stderr, "Unknown arguments found on commandline\n")
		return 1
	}
	if waitInterval && wait == 0 {
		fmt.Fprintf(env.Stderr, "Option --wait-interval requires option --wait\n")
		return 1
	}
	st, err := env.store()
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	lock, err := st.Lock(wait)
	if err == store.ErrBusy {
		return lockBusy(env, wait)
	} else if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return xt.ResourceProblem
	}
	defer lock.Unlock()
	rs, err := st.Load(xt.FamilyIPv4)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	var out bytes.Buffer
	committed, rerr := rules.Restore(rs, in, o, &out)
	env.Stdout.Write(out.Bytes())
	// Tables committed before a failure stay committed, as with the kernel.
	if len(committed) > 0 && !o.Test {
		if err := st.Save(rs); err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
			return 1
		}
	}
	if rerr != nil {
		if re, ok := rerr.(*rules.RestoreError); ok {
			io.WriteString(env.Stderr, re.Text)
			return re.Status
		}
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, rerr)
		return 1
	}
	return 0
}

const restoreUsage = `Usage: %s [-c] [-v] [-V] [-t] [-h] [-n] [-w secs] [-W usecs] [-T table] [-M command] [file]
	   [ --counters ]
	   [ --verbose ]
	   [ --version]
	   [ --test ]
	   [ --help ]
	   [ --noflush ]
	   [ --wait=<seconds>
	   [ --wait-interval=<usecs>
	   [ --table=<TABLE> ]
	   [ --modprobe=<command> ]
`

const helpText = `iptables v1.8.9 (legacy)

Usage: iptables -[ACD] chain rule-specification [options]
       iptables -I chain [rulenum] rule-specification [options]
       iptables -R chain rulenum rule-specification [options]
       iptables -D chain rulenum [options]
       iptables -[LS] [chain [rulenum]] [options]
       iptables -[FZ] [chain] [options]
       iptables -[NX] chain
       iptables -E old-chain-name new-chain-name
       iptables -P chain target [options]
       iptables -h (print this help information)

Commands:
Either long or short options are allowed.
  --append  -A chain		Append to chain
  --check   -C chain		Check for the existence of a rule
  --delete  -D chain		Delete matching rule from chain
  --delete  -D chain rulenum
				Delete rule rulenum (1 = first) from chain
  --insert  -I chain [rulenum]
				Insert in chain as rulenum (default 1=first)
  --replace -R chain rulenum
				Replace rule rulenum (1 = first) in chain
  --list    -L [chain [rulenum]]
				List the rules in a chain or all chains
  --list-rules -S [chain [rulenum]]
				Print the rules in a chain or all chains
  --flush   -F [chain]		Delete all rules in  chain or all chains
  --zero    -Z [chain [rulenum]]
				Zero counters in chain or all chains
  --new     -N chain		Create a new user-defined chain
  --delete-chain
            -X [chain]		Delete a user-defined chain
  --policy  -P chain target
				Change policy on chain to target
  --rename-chain
            -E old-chain new-chain
				Change chain name, (moving any references)

Options:
    --ipv4	-4		Nothing (line is ignored by ip6tables-restore)
    --ipv6	-6		Error (line is ignored by iptables-restore)
[!] --protocol	-p proto	protocol: by number or name, eg. ` + "`tcp'" + `
[!] --source	-s address[/mask][...]
				source specification
[!] --destination -d address[/mask][...]
				destination specification
[!] --in-interface -i input name[+]
				network interface name ([+] for wildcard)
 --jump	-j target
				target for rule (may load target extension)
  --goto      -g chain
			       jump to chain with no return
  --match	-m match
				extended match (may load extension)
  --numeric	-n		numeric output of addresses and ports
[!] --out-interface -o output name[+]
				network interface name ([+] for wildcard)
  --table	-t table	table to manipulate (default: ` + "`filter'" + `)
  --verbose	-v		verbose mode
  --wait	-w [seconds]	maximum wait to acquire xtables lock before give up
  --line-numbers		print line numbers when listing
  --exact	-x		expand numbers (display exact values)
[!] --fragment	-f		match second or further fragments only
  --modprobe=<command>		try to insert modules using this command
  --set-counters -c PKTS BYTES	set the counter during insert/append
[!] --version	-V		print package version.
`
