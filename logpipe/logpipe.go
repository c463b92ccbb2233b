// Package logpipe carries packet LOG and TRACE lines (the kernel's text,
// without a newline, with the time it was logged) to where a host's syslog
// setup would have put them: files with the rotation logrotate would have
// done, any io.Writer, or a syslog daemon over its unix datagram socket,
// with lines routed by their prefix as an rsyslog rule such as
//
//	:msg, startswith, "[plantegg]" /var/log/plantegg.log
//	& stop
//
// routes them. The offline replay, nfgo trace and the live gateway share
// it. The package never reads the clock: every line comes with its time
// (the capture time in a replay), and rotation is decided by that time.
package logpipe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Sink receives packet log lines. line is the kernel's text without a
// trailing newline; level is the LOG rule's --log-level (0-7; TRACE lines
// are logged at 4). Implementations are safe for concurrent use.
type Sink interface {
	WriteLine(t time.Time, level uint8, line []byte) error
	Close() error
}

// Stamp is what a text sink writes before each line.
type Stamp int

const (
	// StampNone writes the line alone.
	StampNone Stamp = iota
	// StampDmesg writes "[seconds.micros] " of the line's time (Unix
	// time), as dmesg shows a line's time: "[1700000000.000123] ".
	StampDmesg
	// StampTraditional writes "Mmm dd hh:mm:ss HOST kernel: ", as
	// rsyslog's default file format (RSYSLOG_TraditionalFileFormat) shows
	// a kernel line, in the time's own location.
	StampTraditional
)

func appendStamp(b []byte, s Stamp, t time.Time, host string) []byte {
	switch s {
	case StampDmesg:
		ns := t.UnixNano()
		b = fmt.Appendf(b, "[%5d.%06d] ", ns/1e9, ns%1e9/1e3)
	case StampTraditional:
		b = t.AppendFormat(b, time.Stamp)
		b = append(b, ' ')
		b = append(b, host...)
		b = append(b, " kernel: "...)
	}
	return b
}

// Writer is a sink writing lines, each after its stamp and followed by a
// newline, to an io.Writer (os.Stdout for instance) with one Write call
// per line. Close does not close the io.Writer.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	stamp Stamp
	host  string
	buf   []byte
}

// NewWriter returns a sink writing to w. host is used by StampTraditional.
func NewWriter(w io.Writer, stamp Stamp, host string) *Writer {
	return &Writer{w: w, stamp: stamp, host: host}
}

// WriteLine implements Sink.
func (w *Writer) WriteLine(t time.Time, level uint8, line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(appendStamp(w.buf[:0], w.stamp, t, w.host), line...)
	w.buf = append(w.buf, '\n')
	_, err := w.w.Write(w.buf)
	return err
}

// Close implements Sink; it does nothing.
func (w *Writer) Close() error { return nil }

// Route sends the lines starting with Prefix to Sink.
type Route struct {
	Prefix string
	Sink   Sink
	// Continue lets a matching line go on to the routes after this one
	// and to the default sink, as an rsyslog rule without "& stop" does.
	// Without it the first matching route is the line's only one.
	Continue bool
}

// Router is a sink that routes each line: the routes are tried in order
// and a line goes to every matching route up to and including the first
// one without Continue; a line no such route took goes to Default (if not
// nil). Its fields must not change once lines are written.
type Router struct {
	Routes  []Route
	Default Sink
}

// WriteLine implements Sink. It returns the first error a sink returned,
// after giving the line to every sink it goes to.
func (r *Router) WriteLine(t time.Time, level uint8, line []byte) error {
	var first error
	for i := range r.Routes {
		rt := &r.Routes[i]
		if !bytes.HasPrefix(line, []byte(rt.Prefix)) {
			continue
		}
		if err := rt.Sink.WriteLine(t, level, line); err != nil && first == nil {
			first = err
		}
		if !rt.Continue {
			return first
		}
	}
	if r.Default != nil {
		if err := r.Default.WriteLine(t, level, line); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close closes every sink of the router once (a sink shared by several
// routes is closed once) and returns their errors joined.
func (r *Router) Close() error {
	seen := map[Sink]bool{}
	var errs []error
	for _, s := range append(routeSinks(r.Routes), r.Default) {
		if s == nil || seen[s] {
			continue
		}
		seen[s] = true
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func routeSinks(rs []Route) []Sink {
	out := make([]Sink, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, r.Sink)
	}
	return out
}

// OpenTarget opens the sink a route's target names (RouteSpec.Target):
// "-" writes to stdout, "syslog" and "syslog:SOCKET" to a syslog socket,
// anything else is a file opened with fo.
func OpenTarget(target string, fo FileOptions, stdout io.Writer) (Sink, error) {
	spec := RouteSpec{Target: target}
	if p, ok := spec.SyslogPath(); ok {
		return DialSyslog(p)
	}
	if target == TargetStdout {
		return NewWriter(stdout, fo.Stamp, fo.Host), nil
	}
	return OpenFile(target, fo)
}
