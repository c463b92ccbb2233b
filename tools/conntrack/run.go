package conntrack

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	ct "github.com/nfgo/nfgo/conntrack"
)

// run is do_command_ct and print_stats for a parsed command.
func run(c *command, env *Env, now int64, out, errw *strings.Builder) (int, error) {
	switch c.command {
	case cmdVersion:
		out.WriteString("conntrack v1.4.7 (conntrack-tools)\n")
		return 0, nil
	case cmdHelp:
		usage(out)
		if c.options&optProto != 0 && c.handler != nil {
			name := c.handler.name
			if c.handler.unknown {
				if n, ok := getprotobynumber(c.protonum); ok {
					name = n
				}
			}
			fmt.Fprintf(out, "Proto `%s' help:\n", name)
			out.WriteString(c.handler.help)
		}
		return 0, nil
	case 0:
		usage(out)
		return 0, nil
	case cmdExpEvent:
		return 0, unsupported("-E expect: expectation events are not supported")
	case cmdEvent:
		if env.Subscribe == nil {
			return 0, unsupported("-E: events come from a running nfgo gateway (none answers here)")
		}
		if c.output&(oXML|oID|oSave|oKtms) != 0 {
			return 0, unsupported("-E: only the default, extended and timestamp outputs are supported")
		}
		return c.events(env, errw)
	case cmdCreate, cmdAdd:
		return 0, unsupported("-%s: creating entries is not supported (nfgo's entries come from packets)", map[int]string{cmdCreate: "I", cmdAdd: "A"}[c.command])
	case cmdExpCreate:
		return 0, unsupported("-I expect: creating expectations is not supported")
	case cmdExpDelete:
		return 0, unsupported("-D expect: deleting single expectations is not supported")
	case cmdExpGet:
		return 0, unsupported("-G expect: getting single expectations is not supported")
	}
	if c.output&(oXML|oID) != 0 {
		return 0, unsupported("-o xml and -o id: entry ids are not modelled")
	}
	if c.options&optID != 0 {
		return 0, unsupported("--id: entry ids are not modelled")
	}
	if c.command == cmdUpdate {
		if c.options&(optTimeout|optStatus) != 0 || c.tmpl.tcpState.ok {
			return 0, unsupported("-U: only setting the mark (-m) is supported")
		}
		if c.tmpl.snat.ok || c.tmpl.dnat.ok {
			return 0, unsupported("-U: NAT addresses (-n/-g with an address) are not supported")
		}
	}
	c.now = now
	// The checks conntrack makes before talking to the kernel.
	switch c.command {
	case cmdList:
		if c.table == tableConntrack {
			if c.options&optComparison != 0 && c.options&optZero != 0 {
				return 0, paramErr("Can't use -z with filtering parameters")
			}
			if err := c.filterInit(); err != nil {
				return 0, err
			}
		}
	case cmdUpdate, cmdDelete:
		if err := c.filterInit(); err != nil {
			return 0, err
		}
	}
	t := env.Table
	if t == nil {
		return 0, &toolErr{code: 1, msg: strings.TrimSuffix(NoTable, "\n"), nfgo: true}
	}
	counter := 0
	var err error
	switch c.command {
	case cmdList:
		if c.table == tableDying || c.table == tableUnconfirmed {
			// nfgo frees entries at once and confirms them within the
			// packet's own step: both lists are always empty.
			break
		}
		if c.tmpl.statusFilter && c.tmpl.statusMask == 0 {
			return 0, otherErr("Operation failed: invalid parameters")
		}
		t.Each(now, func(cn *ct.Conn) {
			e := view(cn, now)
			if !c.kernelDumpFilter(e, true) || !c.filter(e) {
				return
			}
			c.print(out, e, "-A ")
			counter++
		})
	case cmdExpList:
		if c.family == afInet || c.family == afUnspec {
			t.EachExpect(now, func(x *ct.Expect) {
				if c.output&oTms != 0 {
					fmt.Fprintf(out, "[%-8d.%-6d]\t", now/1e9, now%1e9/1e3)
				}
				out.Write(x.AppendExpectList(nil, now))
				counter++
			})
		}
	case cmdDelete:
		var victims []entry
		t.Each(now, func(cn *ct.Conn) {
			e := view(cn, now)
			if c.kernelDumpFilter(e, false) && c.filter(e) {
				victims = append(victims, e)
			}
		})
		for _, e := range victims {
			if !t.Delete(e.c, now) {
				continue // vanished meanwhile
			}
			c.print(out, e, "-D ")
			counter++
		}
	case cmdGet:
		var e entry
		e, err = c.get(t, now)
		if err == nil && c.filter(e) {
			c.printHeld(out, e)
			counter++
		}
	case cmdUpdate:
		var hits []entry
		t.Each(now, func(cn *ct.Conn) {
			e := view(cn, now)
			if c.updateFilter(e) {
				hits = append(hits, e)
			}
		})
		for _, e := range hits {
			if c.options&optMark == 0 {
				continue
			}
			m := (e.mark &^ c.tmpl.markMask) ^ c.tmpl.markValue
			if m == e.mark {
				continue // unchanged: no update is sent
			}
			if c.family == afUnspec {
				// conntrack 1.4.7 sends the update with the command's
				// family, unset without an address or -f: the kernel
				// cannot parse the tuple.
				errw.WriteString("Operation failed: Operation not supported\n")
				return 0, otherErr("Operation failed: Operation not supported")
			}
			e.c.SetMark(m)
			t.ReportUpdate(e.c, now)
			// Only the first updated entry comes back printed: conntrack
			// 1.4.7 reads one answer to its GETs per run.
			if counter == 0 {
				c.printHeld(out, view(e.c, now))
			}
			counter++
		}
	case cmdFlush:
		if c.family == afUnspec || c.family == afInet {
			t.Flush(now)
		}
		errw.WriteString(errPrefix + "connection tracking table has been emptied.\n")
	case cmdExpFlush:
		t.FlushExpectations()
		errw.WriteString(errPrefix + "expectation table has been emptied.\n")
	case cmdCount:
		fmt.Fprintf(out, "%d\n", t.Count())
	case cmdExpCount:
		n := 0
		t.EachExpect(now, func(*ct.Expect) { n++ })
		fmt.Fprintf(out, "%d\n", n)
	case cmdStats:
		cpus := env.CPUs
		if cpus <= 0 {
			cpus = 1
		}
		for i := 0; i < cpus; i++ {
			// nfgo keeps one set of counters: they show on cpu 0.
			var inv, ifail, drop, edrop, clash uint64
			if i == 0 {
				inv, ifail, drop = t.StatInvalid.Load(), t.StatInsertFailed.Load(), t.StatDrop.Load()
				edrop, clash = t.StatEarlyDrop.Load(), t.StatClashResolve.Load()
			}
			fmt.Fprintf(out, "cpu=%-4d\tfound=0 invalid=%d insert=0 insert_failed=%d drop=%d early_drop=%d error=0 search_restart=0 clash_resolve=%d chaintoolong=0 \n",
				i, uint32(inv), uint32(ifail), uint32(drop), uint32(edrop), uint32(clash))
		}
	case cmdExpStats:
		cpus := env.CPUs
		if cpus <= 0 {
			cpus = 1
		}
		for i := 0; i < cpus; i++ {
			var nw, create, del uint64
			if i == 0 {
				nw, create = t.StatExpectNew.Load(), t.StatExpectCreate.Load()
				// Every expectation created and no longer in the table
				// was unlinked (fulfilled, expired, flushed, or taken
				// with its master): expect_delete.
				if live := uint64(t.ExpectCount()); create >= live {
					del = create - live
				}
			}
			fmt.Fprintf(out, "cpu=%-4d\texpect_new=%d expect_create=%d expect_delete=%d \n", i, uint32(nw), uint32(create), uint32(del))
		}
	}
	if err != nil {
		return 0, err
	}
	// print_stats
	if msg, ok := exitMsg[c.bit]; ok && c.command != 0 {
		errw.WriteString(errPrefix + fmt.Sprintf(msg, counter))
		if counter == 0 && c.command&(cmdList|cmdExpList) == 0 {
			return 1, nil
		}
	}
	return 0, nil
}

func usage(out *strings.Builder) {
	fmt.Fprintf(out, usageText, progname)
}

const usageText = "Command line interface for the connection tracking system. Version 1.4.7\nUsage: %s [commands] [options]\n\nCommands:\n  -L [table] [options]\t\tList conntrack or expectation table\n  -G [table] parameters\t\tGet conntrack or expectation\n  -D [table] parameters\t\tDelete conntrack or expectation\n  -I [table] parameters\t\tCreate a conntrack or expectation\n  -U [table] parameters\t\tUpdate a conntrack\n  -E [table] [options]\t\tShow events\n  -F [table]\t\t\tFlush table\n  -C [table]\t\t\tShow counter\n  -S\t\t\t\tShow statistics\n\nTables: conntrack, expect, dying, unconfirmed\n\nConntrack parameters and options:\n  -n, --src-nat ip\t\t\tsource NAT ip\n  -g, --dst-nat ip\t\t\tdestination NAT ip\n  -j, --any-nat ip\t\t\tsource or destination NAT ip\n  -m, --mark mark\t\t\tSet mark\n  -c, --secmark secmark\t\t\tSet selinux secmark\n  -e, --event-mask eventmask\t\tEvent mask, eg. NEW,DESTROY\n  -z, --zero \t\t\t\tZero counters while listing\n  -o, --output type[,...]\t\tOutput format, eg. xml\n  -l, --label label[,...]\t\tconntrack labels\n\nExpectation parameters and options:\n  --tuple-src ip\tSource address in expect tuple\n  --tuple-dst ip\tDestination address in expect tuple\n\nUpdating parameters and options:\n  --label-add label\tAdd label\n  --label-del label\tDelete label\n\nCommon parameters and options:\n  -s, --src, --orig-src ip\t\tSource address from original direction\n  -d, --dst, --orig-dst ip\t\tDestination address from original direction\n  -r, --reply-src ip\t\tSource addres from reply direction\n  -q, --reply-dst ip\t\tDestination address from reply direction\n  -p, --protonum proto\t\tLayer 4 Protocol, eg. 'tcp'\n  -f, --family proto\t\tLayer 3 Protocol, eg. 'ipv6'\n  -t, --timeout timeout\t\tSet timeout\n  -u, --status status\t\tSet status, eg. ASSURED\n  -w, --zone value\t\tSet conntrack zone\n  --orig-zone value\t\tSet zone for original direction\n  --reply-zone value\t\tSet zone for reply direction\n  -b, --buffer-size\t\tNetlink socket buffer size\n  --mask-src ip\t\t\tSource mask address\n  --mask-dst ip\t\t\tDestination mask address\n\n"

// entry is what a ctnetlink dump tells about one connection.
type entry struct {
	c       *ct.Conn
	o, r    ct.Tuple
	proto   uint8
	status  uint32
	mark    uint32
	zone    uint16
	state   uint8
	timeout uint32
}

func view(c *ct.Conn, now int64) entry {
	return entry{c: c, o: c.Tuple(ct.Original), r: c.Tuple(ct.Reply), proto: c.Proto(), status: c.Status(),
		mark: c.Mark(), zone: c.Zone(), state: c.TCPState(), timeout: c.Expires(now)}
}

// l4src and l4dst are libnetfilter_conntrack's tuple l4src.all and
// l4dst.all as 16-bit values: ports (TCP, UDP), GRE keys, for ICMP the
// id (source side) and type and code bytes (destination side).
func l4src(t ct.Tuple) uint16 { return t.SrcPort }

func l4dst(t ct.Tuple) uint16 {
	if t.Proto == 1 {
		return uint16(t.Type)<<8 | uint16(t.Code)
	}
	return t.DstPort
}

func (e entry) isSNAT() bool { return e.status&ct.StatusSrcNATDone != 0 && e.r.Dst != e.o.Src }
func (e entry) isDNAT() bool { return e.status&ct.StatusDstNATDone != 0 && e.r.Src != e.o.Dst }
func (e entry) isSPAT() bool {
	return e.status&ct.StatusSrcNATDone != 0 && l4dst(e.r) != l4src(e.o)
}
func (e entry) isDPAT() bool {
	return e.status&ct.StatusDstNATDone != 0 && l4src(e.r) != l4dst(e.o)
}

// hasPorts: the dump carries CTA_PROTO_SRC_PORT/DST_PORT (ports or GRE
// keys).
func (e entry) hasPorts() bool { return e.proto == 6 || e.proto == 17 || e.proto == 47 }

// filterInit is nfct_filter_init: networks from a CIDR or --mask-*.
func (c *command) filterInit() error {
	t := &c.tmpl
	if c.options&optMaskSrc != 0 {
		if c.options&optOrigSrc == 0 {
			return paramErr("Can't use --mask-src without --src")
		}
		t.network[0].mask = t.maskSrc.v.v4
		t.network[0].net = t.origSrc.v.v4 & t.maskSrc.v.v4
	}
	if c.options&optMaskDst != 0 {
		if c.options&optOrigDst == 0 {
			return paramErr("Can't use --mask-dst without --dst")
		}
		t.network[1].mask = t.maskDst.v.v4
		t.network[1].net = t.origDst.v.v4 & t.maskDst.v.v4
	}
	return nil
}

// kernelDumpFilter is the filter conntrack hands the kernel with a dump:
// the family, the mark, and (listings only) the status.
func (c *command) kernelDumpFilter(e entry, status bool) bool {
	if c.family != afUnspec && c.family != afInet {
		return false
	}
	t := &c.tmpl
	if c.options&optMark != 0 && e.mark&t.markMask != t.markValue {
		return false
	}
	if status && t.statusFilter && e.status&t.statusMask != t.statusFilterVal {
		return false
	}
	return true
}

// filterNAT is filter_nat: true when the entry passes.
func (c *command) filterNAT(e entry) bool {
	t := &c.tmpl
	checkSrc := c.options&(optSrcNAT|optAnyNAT) != 0
	checkDst := c.options&(optDstNAT|optAnyNAT) != 0
	hasSrc, hasDst := false, false
	if checkSrc {
		addr, port := false, false
		if t.snat.ok {
			addr = true
			if e.isSNAT() && t.snat.v.family == afInet && t.snat.v.v4 == e.r.Dst {
				hasSrc = true
			}
		}
		if t.snatPort.ok {
			port = true
			ok := e.isSPAT() && t.snatPort.v == l4dst(e.r)
			if addr && hasSrc && !ok {
				hasSrc = false
			}
			if !addr && ok {
				hasSrc = true
			}
		}
		if !addr && !port && (e.isSNAT() || e.isSPAT()) {
			hasSrc = true
		}
	}
	if checkDst {
		addr, port := false, false
		if t.dnat.ok {
			addr = true
			if e.isDNAT() && t.dnat.v.family == afInet && t.dnat.v.v4 == e.r.Src {
				hasDst = true
			}
		}
		if t.dnatPort.ok {
			port = true
			ok := e.isDPAT() && t.dnatPort.v == l4src(e.r)
			if addr && hasDst && !ok {
				hasDst = false
			}
			if !addr && ok {
				hasDst = true
			}
		}
		if !addr && !port && (e.isDNAT() || e.isDPAT()) {
			hasDst = true
		}
	}
	switch {
	case c.options&optAnyNAT != 0:
		return hasSrc || hasDst
	case c.options&optSrcNAT != 0 && c.options&optDstNAT != 0:
		return hasSrc && hasDst
	case c.options&optSrcNAT != 0:
		return hasSrc
	case c.options&optDstNAT != 0:
		return hasDst
	}
	return true
}

// filterNetwork is filter_network.
func (c *command) filterNetwork(e entry) bool {
	t := &c.tmpl
	if c.options&optMaskSrc != 0 {
		if c.family != afInet || e.o.Src&t.network[0].mask != t.network[0].net {
			return false
		}
	}
	if c.options&optMaskDst != 0 {
		if c.family != afInet || e.o.Dst&t.network[1].mask != t.network[1].net {
			return false
		}
	}
	return true
}

// filter is nfct_filter: true when the entry is shown.
func (c *command) filter(e entry) bool {
	if !c.filterNAT(e) {
		return false
	}
	if c.options&optMark != 0 && e.mark&c.tmpl.markMask != c.tmpl.markValue {
		return false
	}
	if !c.filterNetwork(e) {
		return false
	}
	if c.options&optComparison != 0 && !c.cmpOrig(e) || c.options&optComparison != 0 && !c.cmpRepl(e) ||
		c.options&optComparison != 0 && !c.cmpMeta(e) {
		return false
	}
	return true
}

// updateFilter is the selection of mnl_nfct_update_cb.
func (c *command) updateFilter(e entry) bool {
	if !c.filterNAT(e) || !c.filterNetwork(e) {
		return false
	}
	if c.options&(optOrig|optProto) != 0 && !c.cmpOrig(e) {
		return false
	}
	if c.options&(optRepl|optProto) != 0 && !c.cmpRepl(e) {
		return false
	}
	return true
}

func addrEq(a optional[address], v uint32) bool {
	return !a.ok || (a.v.family == afInet && a.v.v4 == v)
}

// cmpOrig compares the original-direction attributes the template has
// (nfct_cmp's cmp_orig, an attribute the entry lacks failing).
func (c *command) cmpOrig(e entry) bool {
	t := &c.tmpl
	if t.origL3.ok && t.origL3.v != afInet {
		return false
	}
	if t.origSrcGarbage {
		// -j ADDR left stack bytes in the original source: no entry
		// of a real connection has them.
		return false
	}
	if c.options&optMaskSrc == 0 && !addrEq(t.origSrc, e.o.Src) {
		return false
	}
	if c.options&optMaskDst == 0 && !addrEq(t.origDst, e.o.Dst) {
		return false
	}
	if t.l4proto.ok && t.l4proto.v != int(e.proto) {
		return false
	}
	if t.origSport.ok && (!e.hasPorts() || t.origSport.v != e.o.SrcPort) {
		return false
	}
	if t.origDport.ok && (!e.hasPorts() || t.origDport.v != e.o.DstPort) {
		return false
	}
	if e.proto != 1 && (t.icmpType.ok || t.icmpCode.ok || t.icmpID.ok) {
		return false
	}
	if t.icmpType.ok && t.icmpType.v != int(e.o.Type) {
		return false
	}
	if t.icmpCode.ok && t.icmpCode.v != int(e.o.Code) {
		return false
	}
	if t.icmpID.ok && t.icmpID.v != int(e.o.SrcPort) {
		return false
	}
	if t.origZone.ok && t.origZone.v != e.zone {
		return false
	}
	return true
}

func (c *command) cmpRepl(e entry) bool {
	t := &c.tmpl
	if t.replL3.ok && t.replL3.v != afInet {
		return false
	}
	if !addrEq(t.replSrc, e.r.Src) || !addrEq(t.replDst, e.r.Dst) {
		return false
	}
	if t.replL4.ok && t.replL4.v != int(e.proto) {
		return false
	}
	if t.replSport.ok && (!e.hasPorts() || t.replSport.v != e.r.SrcPort) {
		return false
	}
	if t.replDport.ok && (!e.hasPorts() || t.replDport.v != e.r.DstPort) {
		return false
	}
	if t.replZone.ok && t.replZone.v != e.zone {
		return false
	}
	return true
}

func (c *command) cmpMeta(e entry) bool {
	t := &c.tmpl
	if t.status.ok && e.status&t.status.v != t.status.v {
		return false
	}
	if t.tcpState.ok && (e.proto != 6 || int(e.state) != t.tcpState.v) {
		return false
	}
	if t.zone.ok && t.zone.v != e.zone {
		return false
	}
	if t.secmark.ok && t.secmark.v != 0 {
		return false
	}
	return true
}

// get is ctnetlink's get: the entry with the template's original tuple,
// in zone 0.
func (c *command) get(t *ct.Table, now int64) (entry, error) {
	notFound := otherErr("Operation failed: such conntrack doesn't exist")
	invalid := otherErr("Operation failed: invalid parameters")
	tm := &c.tmpl
	// libnetfilter_conntrack always sends the original tuple (the
	// protocol is in it), which the kernel then looks up: without both
	// original addresses it cannot be parsed.
	src, dst, sport, dport := tm.origSrc, tm.origDst, tm.origSport, tm.origDport
	if !src.ok || !dst.ok {
		return entry{}, invalid
	}
	if src.v.family != afInet {
		return entry{}, notFound
	}
	// Attributes not given go out as zeros.
	tp := ct.Tuple{Src: src.v.v4, Dst: dst.v.v4, Proto: uint8(c.protonum)}
	switch c.protonum {
	case 6, 17:
		tp.SrcPort, tp.DstPort = sport.v, dport.v
	case 1:
		switch tm.icmpType.v {
		case 0, 8, 13, 14, 15, 16, 17, 18:
		default:
			return entry{}, invalid
		}
		tp.Type, tp.Code, tp.SrcPort = uint8(tm.icmpType.v), uint8(tm.icmpCode.v), uint16(tm.icmpID.v)
	case 47, 33, 132, 136:
		// Keys or ports would be needed, and the options giving them
		// are refused.
		return entry{}, invalid
	}
	cn, _ := t.Find(tp, 0, now)
	if cn == nil {
		return entry{}, notFound
	}
	return view(cn, now), nil
}

// printHeld prints an entry the kernel answered a GET with: it holds a
// reference to it while dumping it, one more in use=.
func (c *command) printHeld(out *strings.Builder, e entry) {
	if c.output&oSave != 0 {
		c.print(out, e, "-A ")
		return
	}
	var b strings.Builder
	c.print(&b, e, "-A ")
	line := b.String()
	i := strings.LastIndex(line, " use=")
	if i < 0 {
		out.WriteString(line)
		return
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(line[i+5:], "\n"))
	out.WriteString(line[:i+5] + strconv.Itoa(n+1) + "\n")
}

// print writes one entry as conntrack prints it: the default line,
// -o extended's layer 3 prefix, or -o save's command line.
func (c *command) print(out *strings.Builder, e entry, savePrefix string) {
	if c.output&oSave != 0 {
		out.WriteString(saveLine(e, savePrefix))
		out.WriteByte('\n')
		return
	}
	if c.output&oExt != 0 {
		out.WriteString("ipv4     2 ")
	}
	out.Write(e.c.AppendList(nil, c.now))
}

func ip(a uint32) string {
	return strconv.Itoa(int(a>>24)) + "." + strconv.Itoa(int(a>>16&0xFF)) + "." + strconv.Itoa(int(a>>8&0xFF)) + "." + strconv.Itoa(int(a&0xFF))
}

// saveLine is ct_save_snprintf.
func saveLine(e entry, prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	fmt.Fprintf(&b, "-t %d ", e.timeout)
	b.WriteString("-u ")
	var flags []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{ct.StatusExpected, "EXPECTED"}, {ct.StatusSeenReply, "SEEN_REPLY"}, {ct.StatusAssured, "ASSURED"}, {ct.StatusFixedTimeout, "FIXED_TIMEOUT"}} {
		if e.status&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	if len(flags) == 0 {
		b.WriteString("UNSET ")
	} else {
		b.WriteString(strings.Join(flags, ",") + " ")
	}
	if e.zone != 0 {
		fmt.Fprintf(&b, "-w %d ", e.zone)
	}
	fmt.Fprintf(&b, "-s %s -d %s ", ip(e.o.Src), ip(e.o.Dst))
	if e.isDNAT() {
		fmt.Fprintf(&b, "-g %s ", ip(e.r.Src))
	} else {
		fmt.Fprintf(&b, "-r %s ", ip(e.r.Src))
	}
	if e.isSNAT() {
		fmt.Fprintf(&b, "-n %s ", ip(e.r.Dst))
	} else {
		fmt.Fprintf(&b, "-q %s ", ip(e.r.Dst))
	}
	switch e.proto {
	case 6, 17:
		name := "tcp"
		if e.proto == 17 {
			name = "udp"
		}
		fmt.Fprintf(&b, "-p %s --sport %d --dport %d --reply-port-src %d --reply-port-dst %d ", name, e.o.SrcPort, e.o.DstPort, e.r.SrcPort, e.r.DstPort)
		if e.proto == 6 {
			fmt.Fprintf(&b, "--state %s ", tcpStates[e.state])
		}
	case 1:
		fmt.Fprintf(&b, "-p icmp --icmp-type %d --icmp-code %d --icmp-id %d ", e.o.Type, e.o.Code, e.o.SrcPort)
	case 47:
		fmt.Fprintf(&b, "-p gre --srckey %d --dstkey %d --reply-key-src %d --reply-key-dst %d ", e.o.SrcPort, e.o.DstPort, e.r.SrcPort, e.r.DstPort)
	default:
		name := ""
		for _, h := range handlers {
			if h.num == int(e.proto) {
				name = h.name
			}
		}
		if name != "" {
			fmt.Fprintf(&b, "-p %s ", name)
		} else {
			fmt.Fprintf(&b, "-p %d ", e.proto)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// events is conntrack -E: each event of the table the filters and -e
// let through, printed as it comes (ctnetlink's NEW, UPDATE and DESTROY
// groups), until the listener goes; then the count, as conntrack prints
// it when interrupted. Events that arrive faster than they can be
// written are dropped, as a full netlink socket drops them (conntrack
// then says so).
func (c *command) events(env *Env, errw *strings.Builder) (int, error) {
	mask := c.eventMask
	if mask == 0 {
		mask = 7
	}
	lines := make(chan []byte, 4096)
	var lost atomic.Uint64
	cancel := env.Subscribe(func(events uint32, cn *ct.Conn, now int64) {
		group := uint32(2) // UPDATES
		switch {
		case events&ct.EventDestroy != 0:
			group = 4
		case events&(ct.EventNew|ct.EventRelated) != 0:
			group = 1
		}
		if group&mask == 0 {
			return
		}
		e := view(cn, now)
		if !c.kernelDumpFilter(e, false) || !c.filter(e) {
			return
		}
		var b []byte
		if c.output&oTms != 0 {
			b = fmt.Appendf(b, "[%-8d.%-6d]\t", now/1e9, now%1e9/1e3)
		}
		line := cn.AppendEvent(nil, events, now)
		if c.output&oExt != 0 {
			// the layer 3 protocol after the event type
			b = append(b, line[:10]...)
			b = append(b, "ipv4     2 "...)
			line = line[10:]
		}
		select {
		case lines <- append(b, line...):
		default:
			lost.Add(1)
		}
	})
	defer cancel()
	n := 0
	out := env.Stdout
	for {
		select {
		case l := <-lines:
			if _, err := out.Write(l); err != nil {
				return 0, nil // the listener went away
			}
			n++
		case <-env.Done:
			if k := lost.Load(); k > 0 {
				fmt.Fprintf(errw, "nfgo conntrack: %d events lost (written too slowly)\n", k)
			}
			fmt.Fprintf(errw, errPrefix+"%d flow events have been shown.\n", n)
			return 0, nil
		}
	}
}
