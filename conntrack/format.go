package conntrack

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// protoName is the protocol's name in both listings (l4proto_name in the
// kernel, proto2str in libnetfilter_conntrack) for the trackers modelled.
func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	case protoGRE:
		return "gre"
	}
	return "unknown"
}

func appendIP(b []byte, a uint32) []byte {
	b = strconv.AppendUint(b, uint64(a>>24), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(a>>16&0xFF), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(a>>8&0xFF), 10)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(a&0xFF), 10)
}

func appendTuple(b []byte, t *Tuple) []byte {
	b = append(b, "src="...)
	b = appendIP(b, t.Src)
	b = append(b, " dst="...)
	b = appendIP(b, t.Dst)
	b = append(b, ' ')
	switch t.Proto {
	case protoTCP, protoUDP:
		b = append(b, "sport="...)
		b = strconv.AppendUint(b, uint64(t.SrcPort), 10)
		b = append(b, " dport="...)
		b = strconv.AppendUint(b, uint64(t.DstPort), 10)
		b = append(b, ' ')
	case protoICMP:
		b = append(b, "type="...)
		b = strconv.AppendUint(b, uint64(t.Type), 10)
		b = append(b, " code="...)
		b = strconv.AppendUint(b, uint64(t.Code), 10)
		b = append(b, " id="...)
		b = strconv.AppendUint(b, uint64(t.SrcPort), 10)
		b = append(b, ' ')
	}
	return b
}

func appendPadded(b []byte, s string, w int) []byte {
	b = append(b, s...)
	for i := len(s); i < w; i++ {
		b = append(b, ' ')
	}
	return b
}

// AppendList appends the entry as `conntrack -L` (conntrack-tools 1.4.7)
// prints it, newline included.
func (c *Conn) AppendList(b []byte, now int64) []byte {
	p := c.Proto()
	b = appendPadded(b, protoName(p), 8)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(p), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.Expires(now)), 10)
	b = append(b, ' ')
	if p == protoTCP {
		b = append(b, TCPStateNames[c.TCPState()]...)
		b = append(b, ' ')
	}
	b = c.appendTuples(b, p)
	b = append(b, "mark="...)
	b = strconv.AppendUint(b, uint64(c.Mark()), 10)
	b = append(b, ' ')
	if c.zone != 0 {
		b = append(b, "zone="...)
		b = strconv.AppendUint(b, uint64(c.zone), 10)
		b = append(b, ' ')
	}
	if c.helper != nil {
		b = append(b, "helper="...)
		b = append(b, c.helper.Name...)
		b = append(b, ' ')
	}
	// use= is the reference count: the table's, plus one held by each
	// entry this one is the master of.
	b = append(b, "use="...)
	b = strconv.AppendInt(b, 1+int64(c.children.Load()), 10)
	return append(b, '\n')
}

// appendTuples appends both directions with the [UNREPLIED] and
// [ASSURED] flags, as conntrack -L and /proc print them.
func (c *Conn) appendTuples(b []byte, p uint8) []byte {
	o, r := c.th[0].t, c.th[1].t
	b = appendTuple(b, &o)
	if p == protoGRE {
		b = appendGREKeys(b, &o)
	}
	s := c.Status()
	if s&StatusSeenReply == 0 {
		b = append(b, "[UNREPLIED] "...)
	}
	b = appendTuple(b, &r)
	if p == protoGRE {
		b = appendGREKeys(b, &r)
	}
	if s&StatusAssured != 0 {
		b = append(b, "[ASSURED] "...)
	}
	return b
}

func appendGREKeys(b []byte, t *Tuple) []byte {
	b = append(b, "srckey=0x"...)
	b = strconv.AppendUint(b, uint64(t.SrcPort), 16)
	b = append(b, " dstkey=0x"...)
	b = strconv.AppendUint(b, uint64(t.DstPort), 16)
	return append(b, ' ')
}

// AppendProc appends the entry as a line of /proc/net/nf_conntrack
// (ct_seq_show; accounting and timestamps off, their defaults).
func (c *Conn) AppendProc(b []byte, now int64) []byte {
	p := c.Proto()
	b = append(b, "ipv4     2 "...)
	b = appendPadded(b, protoName(p), 8)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(p), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.Expires(now)), 10)
	b = append(b, ' ')
	switch p {
	case protoTCP:
		b = append(b, TCPStateNames[c.TCPState()]...)
		b = append(b, ' ')
	case protoGRE:
		b = append(b, "timeout="...)
		b = strconv.AppendUint(b, uint64(c.greTimeout/1e9), 10)
		b = append(b, ", stream_timeout="...)
		b = strconv.AppendUint(b, uint64(c.greStreamTimeout/1e9), 10)
		b = append(b, ' ')
	}
	b = c.appendTuples(b, p)
	b = append(b, "mark="...)
	b = strconv.AppendUint(b, uint64(c.Mark()), 10)
	b = append(b, " zone="...)
	b = strconv.AppendUint(b, uint64(c.zone), 10)
	b = append(b, " use="...)
	b = strconv.AppendInt(b, 2+int64(c.children.Load()), 10)
	return append(b, '\n')
}

// AppendExpectProc appends the expectation as a line of
// /proc/net/nf_conntrack_expect (exp_seq_show).
func (e *Expect) AppendExpectProc(b []byte, now int64) []byte {
	b = strconv.AppendInt(b, e.Expires(now), 10)
	b = append(b, " l3proto = 2 proto="...)
	b = strconv.AppendUint(b, uint64(e.Tuple.Proto), 10)
	b = append(b, ' ')
	b = appendTuple(b, &e.Tuple)
	if e.Helper != nil {
		b = append(b, e.Helper.Name...)
	}
	return append(b, '\n')
}

// AppendExpectList appends the expectation as `conntrack -L expect`
// (conntrack-tools 1.4.7) prints it.
func (e *Expect) AppendExpectList(b []byte, now int64) []byte {
	b = strconv.AppendInt(b, e.Expires(now), 10)
	b = append(b, " proto="...)
	b = strconv.AppendUint(b, uint64(e.Tuple.Proto), 10)
	b = append(b, ' ')
	b = appendTuple(b, &e.Tuple)
	// The mask as ctnetlink dumps it: the destination is always exact.
	m := Tuple{Src: e.MaskSrc, Dst: 0xFFFFFFFF, SrcPort: e.MaskSrcPort, DstPort: 0xFFFF, Proto: e.Tuple.Proto}
	b = appendPrefixedTuple(b, "mask-", &m)
	mt := e.Master.th[0].t
	b = appendPrefixedTuple(b, "master-", &mt)
	b = append(b, "class="...)
	b = strconv.AppendUint(b, uint64(e.Class), 10)
	if e.Helper != nil {
		b = append(b, " helper="...)
		b = append(b, e.Helper.Name...)
	}
	return append(b, '\n')
}

// appendPrefixedTuple appends a tuple with its addresses' names
// prefixed: "mask-src=... mask-dst=... sport=... dport=... ".
func appendPrefixedTuple(b []byte, pfx string, t *Tuple) []byte {
	tb := appendTuple(nil, t)
	i := bytes.Index(tb, []byte(" dst="))
	b = append(b, pfx...)
	b = append(b, tb[:i+1]...)
	b = append(b, pfx...)
	return append(b, tb[i+1:]...)
}

// WriteExpectProc writes /proc/net/nf_conntrack_expect.
func (t *Table) WriteExpectProc(w io.Writer, now int64) error {
	var b []byte
	t.EachExpect(now, func(e *Expect) { b = e.AppendExpectProc(b, now) })
	_, err := w.Write(b)
	return err
}

// WriteExpectList writes every expectation as conntrack -L expect does
// and returns how many; ExpectListSummary is its closing line (stderr).
func (t *Table) WriteExpectList(w io.Writer, now int64) (int, error) {
	var b []byte
	n := 0
	t.EachExpect(now, func(e *Expect) {
		b = e.AppendExpectList(b, now)
		n++
	})
	_, err := w.Write(b)
	return n, err
}

// ExpectListSummary is conntrack -L expect's closing line (on stderr).
func ExpectListSummary(n int) string {
	return fmt.Sprintf("conntrack v1.4.7 (conntrack-tools): %d expectations have been shown.\n", n)
}

// WriteList writes every entry as `conntrack -L` does (to stdout) and
// returns how many it wrote; ListSummary is the line conntrack then
// prints on stderr.
func (t *Table) WriteList(w io.Writer, now int64) (int, error) {
	var b []byte
	n := 0
	t.Each(now, func(c *Conn) {
		b = c.AppendList(b, now)
		n++
	})
	_, err := w.Write(b)
	return n, err
}

// ListSummary is conntrack -L's closing line (on stderr).
func ListSummary(n int) string {
	return fmt.Sprintf("conntrack v1.4.7 (conntrack-tools): %d flow entries have been shown.\n", n)
}

// WriteProc writes /proc/net/nf_conntrack.
func (t *Table) WriteProc(w io.Writer, now int64) error {
	var b []byte
	t.Each(now, func(c *Conn) { b = c.AppendProc(b, now) })
	_, err := w.Write(b)
	return err
}
