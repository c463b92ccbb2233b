package conntrack

import "strings"

// GNU getopt_long (glibc) as conntrack uses it: the default PERMUTE
// ordering (non-options are skipped and moved to the end of argv, which
// is what later error messages quoting argv[optind-1] see), optional
// arguments only when attached, unique long-option prefixes, and an
// optstring starting with ':' (a missing argument returns ':').

const (
	noArg       = 0
	requiredArg = 1
	optionalArg = 2
)

type longOpt struct {
	name   string
	hasArg int
	val    int
}

type getopt struct {
	argv      []string // argv[0] included; permuted in place
	optstring string
	longs     []longOpt

	optind    int
	optarg    string
	hasArg    bool // optarg is set
	nextchar  string
	inCluster bool // nextchar is valid (glibc's nextchar != NULL)

	firstNonopt, lastNonopt int
}

func newGetopt(argv []string, optstring string, longs []longOpt) *getopt {
	return &getopt{argv: argv, optstring: optstring, longs: longs, optind: 1, firstNonopt: 1, lastNonopt: 1}
}

func (g *getopt) nonoption(i int) bool {
	a := g.argv[i]
	return len(a) < 2 || a[0] != '-'
}

// exchange moves the block of skipped non-options [firstNonopt,
// lastNonopt) after the options [lastNonopt, optind) that followed it.
func (g *getopt) exchange() {
	bottom, middle, top := g.firstNonopt, g.lastNonopt, g.optind
	moved := append([]string(nil), g.argv[middle:top]...)
	moved = append(moved, g.argv[bottom:middle]...)
	copy(g.argv[bottom:top], moved)
	g.firstNonopt += g.optind - g.lastNonopt
	g.lastNonopt = g.optind
}

// next returns the next option character (or long option value), '?'
// for an unknown option, ':' for a missing argument, -1 at the end.
func (g *getopt) next() int {
	argc := len(g.argv)
	g.optarg, g.hasArg = "", false
	if g.optind < 1 {
		g.optind = 1
	}
	if !g.inCluster || g.nextchar == "" {
		if g.lastNonopt > g.optind {
			g.lastNonopt = g.optind
		}
		if g.firstNonopt > g.optind {
			g.firstNonopt = g.optind
		}
		if g.firstNonopt != g.lastNonopt && g.lastNonopt != g.optind {
			g.exchange()
		} else if g.lastNonopt != g.optind {
			g.firstNonopt = g.optind
		}
		for g.optind < argc && g.nonoption(g.optind) {
			g.optind++
		}
		g.lastNonopt = g.optind
		if g.optind != argc && g.argv[g.optind] == "--" {
			g.optind++
			if g.firstNonopt != g.lastNonopt && g.lastNonopt != g.optind {
				g.exchange()
			} else if g.firstNonopt == g.lastNonopt {
				g.firstNonopt = g.optind
			}
			g.lastNonopt = argc
			g.optind = argc
		}
		if g.optind >= argc {
			if g.firstNonopt != g.lastNonopt {
				g.optind = g.firstNonopt
			}
			return -1
		}
		a := g.argv[g.optind]
		if a[1] == '-' {
			g.nextchar = a[2:]
			g.inCluster = true
			return g.long()
		}
		g.nextchar = a[1:]
		g.inCluster = true
	}
	c := g.nextchar[0]
	g.nextchar = g.nextchar[1:]
	if g.nextchar == "" {
		g.optind++
	}
	i := strings.IndexByte(g.optstring, c)
	if i < 0 || c == ':' || c == ';' {
		return '?'
	}
	spec := g.optstring[i+1:]
	if strings.HasPrefix(spec, ":") {
		if strings.HasPrefix(spec, "::") {
			if g.nextchar != "" {
				g.optarg, g.hasArg = g.nextchar, true
				g.optind++
			}
			g.inCluster = false
			g.nextchar = ""
			return int(c)
		}
		switch {
		case g.nextchar != "":
			g.optarg, g.hasArg = g.nextchar, true
			g.optind++
		case g.optind == argc:
			g.inCluster = false
			g.nextchar = ""
			if g.optstring[0] == ':' {
				return ':'
			}
			return '?'
		default:
			g.optarg, g.hasArg = g.argv[g.optind], true
			g.optind++
		}
		g.inCluster = false
		g.nextchar = ""
	}
	return int(c)
}

func (g *getopt) long() int {
	argc := len(g.argv)
	name, value, hasEq := strings.Cut(g.nextchar, "=")
	var found *longOpt
	for i := range g.longs {
		if g.longs[i].name == name {
			found = &g.longs[i]
			break
		}
	}
	if found == nil {
		ambig := false
		for i := range g.longs {
			p := &g.longs[i]
			if !strings.HasPrefix(p.name, name) {
				continue
			}
			if found == nil {
				found = p
			} else if found.hasArg != p.hasArg || found.val != p.val {
				ambig = true
			}
		}
		if ambig {
			g.inCluster, g.nextchar = false, ""
			g.optind++
			return '?'
		}
	}
	if found == nil {
		g.inCluster, g.nextchar = false, ""
		g.optind++
		return '?'
	}
	g.optind++
	g.inCluster, g.nextchar = false, ""
	if hasEq {
		if found.hasArg == noArg {
			return '?'
		}
		g.optarg, g.hasArg = value, true
	} else if found.hasArg == requiredArg {
		if g.optind < argc {
			g.optarg, g.hasArg = g.argv[g.optind], true
			g.optind++
		} else {
			if g.optstring[0] == ':' {
				return ':'
			}
			return '?'
		}
	}
	return found.val
}
