package conntrack

import (
	"github.com/nfgo/nfgo/internal/etcdb"
	"strings"
	"sync"
)

// A protocol handler (conntrack-tools' struct ctproto_handler): the long
// options -p adds to the command line, which of them each command
// accepts, and how they are parsed into the filter template.
type protoHandler struct {
	name string
	num  int
	opts []longOpt // val is the handler's own option code ('1', '2', ...)
	// optflags names each option bit in the "Illegal option" and "You
	// need to supply" messages.
	optflags []string
	// matrix[command bit] is the legality of each option bit (0 illegal,
	// 1 compulsory, 2 optional, 3 see coupled); missing rows are zeros.
	matrix  map[int][]int8
	coupled []uint32
	// partial[i] is the message when no coupled group is complete and
	// the first partly given one is i (index 0 also when none is).
	partial []string
	help    string
	// foreign: a handler nfgo knows only by its options (the table
	// tracks these protocols as generic ones): using any of them is
	// refused.
	foreign bool
	// unknown is ct_proto_unknown (a protocol without a handler).
	unknown bool
	// parse handles one option (code, argument) into the template and
	// returns the option bit it sets.
	parse func(c byte, arg string, t *tmpl) (uint32, error)
}

const portsHelp = "  --orig-port-src\t\toriginal source port\n  --orig-port-dst\t\toriginal destination port\n  --reply-port-src\t\treply source port\n  --reply-port-dst\t\treply destination port\n  --mask-port-src\t\tmask source port\n  --mask-port-dst\t\tmask destination port\n  --tuple-port-src\t\texpectation tuple src port\n  --tuple-port-src\t\texpectation tuple dst port\n"

const sportDport = "you have to specify `--sport' and `--dport'"

func portOpts(extra ...longOpt) []longOpt {
	o := []longOpt{
		{"orig-port-src", requiredArg, '1'}, {"sport", requiredArg, '1'},
		{"orig-port-dst", requiredArg, '2'}, {"dport", requiredArg, '2'},
		{"reply-port-src", requiredArg, '3'}, {"reply-port-dst", requiredArg, '4'},
		{"mask-port-src", requiredArg, '5'}, {"mask-port-dst", requiredArg, '6'},
	}
	return append(o, extra...)
}

// Command bits (enum ct_command's *_BIT).
const (
	bitList = iota
	bitCreate
	bitUpdate
	bitDelete
	bitGet
	bitFlush
	bitEvent
	bitVersion
	bitHelp
	bitExpList
	bitExpCreate
	bitExpDelete
	bitExpGet
	bitExpFlush
	bitExpEvent
	bitCount
	bitExpCount
	bitStats
	bitExpStats
	bitAdd
	numCmds
)

var tcpStates = []string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

const tcpListen = 9 // TCP_CONNTRACK_LISTEN, the old name of SYN_SENT2

func parsePorts(proto int) func(c byte, arg string, t *tmpl) (uint32, error) {
	return func(c byte, arg string, t *tmpl) (uint32, error) {
		port := uint16(atoi(arg))
		switch c {
		case '1':
			t.origSport.set(port)
			t.l4proto.set(proto)
			return 1 << 0, nil
		case '2':
			t.origDport.set(port)
			t.l4proto.set(proto)
			return 1 << 1, nil
		case '3':
			t.replSport.set(port)
			t.replL4.set(proto)
			return 1 << 2, nil
		case '4':
			t.replDport.set(port)
			t.replL4.set(proto)
			return 1 << 3, nil
		case '5':
			return 1 << 4, nil // --mask-port-src: expectations only
		case '6':
			return 1 << 5, nil
		}
		if proto == 6 {
			switch c {
			case '7':
				st := -1
				for i, n := range tcpStates {
					if arg == n {
						st = i
						break
					}
				}
				if arg == "LISTEN" {
					st = tcpListen
				} else if st < 0 {
					return 0, paramErr("unknown TCP state `%s'", arg)
				}
				t.tcpState.set(st)
				return 1 << 6, nil
			case '8':
				return 1 << 7, nil
			case '9':
				return 1 << 8, nil
			}
		} else {
			switch c {
			case '7':
				return 1 << 6, nil
			case '8':
				return 1 << 7, nil
			}
		}
		return 0, nil
	}
}

var (
	tcpHandler = &protoHandler{
		name: "tcp", num: 6,
		opts: portOpts(longOpt{"state", requiredArg, '7'}, longOpt{"tuple-port-src", requiredArg, '8'}, longOpt{"tuple-port-dst", requiredArg, '9'}),
		optflags: []string{"sport", "dport", "reply-port-src", "reply-port-dst", "mask-port-src",
			"mask-port-dst", "state", "tuple-port-src", "tuple-port-dst"},
		matrix: map[int][]int8{
			bitList: {2, 2, 2, 2, 0, 0, 2, 0, 0}, bitCreate: {3, 3, 3, 3, 0, 0, 1, 0, 0},
			bitUpdate: {2, 2, 2, 2, 0, 0, 2, 0, 0}, bitDelete: {2, 2, 2, 2, 0, 0, 2, 0, 0},
			bitGet: {3, 3, 3, 3, 0, 0, 2, 0, 0}, bitEvent: {2, 2, 2, 2, 0, 0, 2, 0, 0},
			bitExpCreate: {1, 1, 1, 1, 1, 1, 0, 1, 1}, bitExpDelete: {1, 1, 1, 1, 0, 0, 0, 0, 0},
			bitExpGet: {1, 1, 1, 1, 0, 0, 0, 0, 0}, bitAdd: {3, 3, 3, 3, 0, 0, 1, 0, 0},
		},
		coupled: []uint32{1<<0 | 1<<1, 1<<2 | 1<<3},
		partial: []string{sportDport, "you have to specify `--reply-src-port' and `--reply-dst-port'"},
		help:    portsHelp + "  --state\t\t\tTCP state, fe. ESTABLISHED\n",
		parse:   parsePorts(6),
	}
	udpHandler = &protoHandler{
		name: "udp", num: 17,
		opts: portOpts(longOpt{"tuple-port-src", requiredArg, '7'}, longOpt{"tuple-port-dst", requiredArg, '8'}),
		optflags: []string{"sport", "dport", "reply-port-src", "reply-port-dst", "mask-port-src",
			"mask-port-dst", "tuple-port-src", "tuple-port-dst"},
		matrix: map[int][]int8{
			bitList: {2, 2, 2, 2, 0, 0, 0, 0}, bitCreate: {3, 3, 3, 3, 0, 0, 0, 0},
			bitUpdate: {2, 2, 2, 2, 0, 0, 0, 0}, bitDelete: {2, 2, 2, 2, 0, 0, 0, 0},
			bitGet: {3, 3, 3, 3, 0, 0, 0, 0}, bitEvent: {2, 2, 2, 2, 0, 0, 0, 0},
			bitExpCreate: {1, 1, 1, 1, 1, 1, 1, 1}, bitExpDelete: {1, 1, 1, 1, 0, 0, 0, 0},
			bitExpGet: {1, 1, 1, 1, 0, 0, 0, 0}, bitAdd: {3, 3, 3, 3, 0, 0, 0, 0},
		},
		coupled: []uint32{1<<0 | 1<<1, 1<<2 | 1<<3},
		partial: []string{sportDport, "you have to specify `--reply-src-port' and `--reply-dst-port'"},
		help:    portsHelp,
		parse:   parsePorts(17),
	}
	icmpHandler = &protoHandler{
		name: "icmp", num: 1,
		opts:     []longOpt{{"icmp-type", requiredArg, '1'}, {"icmp-code", requiredArg, '2'}, {"icmp-id", requiredArg, '3'}},
		optflags: []string{"icmp-type", "icmp-code", "icmp-id"},
		matrix: map[int][]int8{
			bitList: {2, 2, 2}, bitCreate: {1, 1, 2}, bitUpdate: {2, 2, 2}, bitDelete: {2, 2, 2},
			bitGet: {1, 1, 2}, bitEvent: {2, 2, 2}, bitAdd: {1, 1, 2},
		},
		help: "  --icmp-type\t\t\ticmp type\n  --icmp-code\t\t\ticmp code\n  --icmp-id\t\t\ticmp id\n",
		parse: func(c byte, arg string, t *tmpl) (uint32, error) {
			switch c {
			case '1':
				t.icmpType.set(int(uint8(atoi(arg))))
				t.l4proto.set(1)
				return 1 << 0, nil
			case '2':
				t.icmpCode.set(int(uint8(atoi(arg))))
				t.l4proto.set(1)
				return 1 << 1, nil
			case '3':
				t.icmpID.set(int(uint16(atoi(arg))))
				t.l4proto.set(1)
				return 1 << 2, nil
			}
			return 0, nil
		},
	}
	// The handlers whose protocols nfgo's table tracks as generic ones:
	// only their option names are known here.
	udpliteHandler = &protoHandler{name: "udplite", num: 136, foreign: true, help: portsHelp,
		opts:    portOpts(longOpt{"tuple-port-src", requiredArg, '7'}, longOpt{"tuple-port-dst", requiredArg, '8'}),
		partial: []string{sportDport}}
	sctpHandler = &protoHandler{name: "sctp", num: 132, foreign: true,
		help: portsHelp + "  --state\t\t\tSCTP state, fe. ESTABLISHED\n  --orig-vtag\t\toriginal verification tag\n  --reply-vtag\t\treply verification tag\n",
		opts: portOpts(longOpt{"state", requiredArg, '7'}, longOpt{"tuple-port-src", requiredArg, '8'},
			longOpt{"tuple-port-dst", requiredArg, '9'}, longOpt{"orig-vtag", requiredArg, 'a'}, longOpt{"reply-vtag", requiredArg, 'b'}),
		partial: []string{sportDport}}
	dccpHandler = &protoHandler{name: "dccp", num: 33, foreign: true,
		help: portsHelp + "  --state\t\t\tDCCP state, fe. RESPOND\n",
		opts: portOpts(longOpt{"state", requiredArg, '7'}, longOpt{"tuple-port-src", requiredArg, '8'},
			longOpt{"tuple-port-dst", requiredArg, '9'}, longOpt{"role", requiredArg, 'a'}),
		partial: []string{sportDport}}
	greHandler = &protoHandler{name: "gre", num: 47, foreign: true,
		help: "  --orig-key-src\t\toriginal source key\n  --orig-key-dst\t\toriginal destination key\n  --reply-key-src\t\treply source key\n  --reply-key-dst\t\treply destination key\n  --mask-key-src\t\tmask source key\n  --mask-key-dst\t\tmask destination key\n  --tuple-key-src\t\texpectation tuple src key\n  --tuple-key-src\t\texpectation tuple dst key\n",
		opts: []longOpt{{"orig-key-src", requiredArg, '1'}, {"srckey", requiredArg, '1'}, {"orig-key-dst", requiredArg, '2'},
			{"dstkey", requiredArg, '2'}, {"reply-key-src", requiredArg, '3'}, {"reply-key-dst", requiredArg, '4'},
			{"mask-key-src", requiredArg, '5'}, {"mask-key-dst", requiredArg, '6'}, {"tuple-key-src", requiredArg, '7'},
			{"tuple-key-dst", requiredArg, '8'}},
		partial: []string{"you have to specify `--srckey' and `--dstkey'"}}
	icmpv6Handler = &protoHandler{name: "icmpv6", num: 58, foreign: true,
		help:    "  --icmpv6-type\t\t\ticmpv6 type\n  --icmpv6-code\t\t\ticmpv6 code\n  --icmpv6-id\t\t\ticmpv6 id\n",
		opts:    []longOpt{{"icmpv6-type", requiredArg, '1'}, {"icmpv6-code", requiredArg, '2'}, {"icmpv6-id", requiredArg, '3'}},
		partial: []string{"You need to supply the `--icmpv6-type' option for this command"}}
)

// handlers in the order findproto walks them (registration order
// reversed: list_add puts each at the head).
var handlers = []*protoHandler{greHandler, icmpv6Handler, icmpHandler, dccpHandler, sctpHandler, udpliteHandler, udpHandler, tcpHandler}

// /etc/protocols, as getprotobyname and getprotobynumber read it.
var (
	protosOnce sync.Once
	protoNames []protoName
)

type protoName struct {
	names []string
	num   int
}

func loadProtocols() {
	etcdb.Each("/etc/protocols", func(fs []string) {
		n := 0
		for _, ch := range fs[1] {
			if ch < '0' || ch > '9' {
				return
			}
			n = n*10 + int(ch-'0')
			if n > 1<<20 {
				return
			}
		}
		protoNames = append(protoNames, protoName{append([]string{fs[0]}, fs[2:]...), n})
	})
}

func getprotobyname(s string) (int, bool) {
	protosOnce.Do(loadProtocols)
	for _, p := range protoNames {
		for _, n := range p.names {
			if n == s {
				return p.num, true
			}
		}
	}
	return 0, false
}

func getprotobynumber(n int) (string, bool) {
	protosOnce.Do(loadProtocols)
	for _, p := range protoNames {
		if p.num == n {
			return p.names[0], true
		}
	}
	return "", false
}

var unknownHandler = &protoHandler{name: "unknown", unknown: true, help: "  no options (unsupported)\n"}

// findproto is conntrack's findproto: a handler by name (any case), a
// protocol name from /etc/protocols (no handler), or a number 0-255.
func findproto(name string) (*protoHandler, int, bool) {
	for _, h := range handlers {
		if strings.EqualFold(h.name, name) {
			return h, h.num, true
		}
	}
	if n, ok := getprotobyname(name); ok {
		return unknownHandler, n, true
	}
	v, used, erange := strtoulPrefix(name)
	if used > 0 && used == len(name) && !erange && v <= 255 {
		for _, h := range handlers {
			if h.num == int(v) {
				return h, int(v), true
			}
		}
		return unknownHandler, int(v), true
	}
	return nil, 0, false
}
