package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The control socket: while the daemon runs, `nfgo iptables`, `ipset`,
// `conntrack` and `recent` act on it through a unix socket in the state
// directory (mode 0600: root only). A request is one JSON object (the
// tool, its arguments, its standard input); the answer is one JSON object
// (standard output, standard error, exit status). The daemon runs the tool
// against its store and its live tables, and swaps the ruleset in when
// the store changed.

// SocketName is the control socket's name in the state directory.
const SocketName = "gateway.sock"

// Request is one tool invocation.
type Request struct {
	Tool  string   `json:"tool"`
	Args  []string `json:"args"`
	Stdin []byte   `json:"stdin,omitempty"`
}

// Response is its result. A streaming tool (conntrack -E) answers with
// a run of responses with More set, each carrying the output so far,
// then a last one.
type Response struct {
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
	Code   int    `json:"code"`
	More   bool   `json:"more,omitempty"`
}

// Executor runs a request in the daemon (package tools/gateway supplies
// the tools).
type Executor func(req *Request) *Response

// StreamExecutor runs a request that streams (ok true), writing its
// output to out as it comes, until done is closed (the client went away)
// or it ends; ok false leaves the request to the Executor. Streams run
// beside other requests, not one at a time as they do.
type StreamExecutor func(req *Request, out io.Writer, done <-chan struct{}) (resp *Response, ok bool)

// Streams, when set before Serve, runs the streaming requests.
func (g *Gateway) SetStreams(s StreamExecutor) { g.streams = s }

const maxRequest = 64 << 20

// Serve answers control requests on path until ctx ends.
func (g *Gateway) Serve(ctx context.Context, path string, exec Executor) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	go func() {
		<-ctx.Done()
		l.Close()
		os.Remove(path)
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go g.serveConn(c, exec)
	}
}

func (g *Gateway) serveConn(c net.Conn, exec Executor) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	var req Request
	if err := json.NewDecoder(io.LimitReader(c, maxRequest)).Decode(&req); err != nil {
		json.NewEncoder(c).Encode(&Response{Stderr: []byte("nfgo gateway: bad control request: " + err.Error() + "\n"), Code: 2})
		return
	}
	enc := json.NewEncoder(c)
	if g.streams != nil {
		done := make(chan struct{})
		go func() {
			// The client sends nothing more: a read ends when it goes.
			io.Copy(io.Discard, c)
			close(done)
		}()
		c.SetDeadline(time.Time{})
		w := &chunkWriter{enc: enc}
		if resp, ok := g.streams(&req, w, done); ok {
			if w.err == nil {
				enc.Encode(resp)
			}
			return
		}
		c.SetDeadline(time.Now().Add(5 * time.Minute))
	}
	g.ctl.Lock() // one tool at a time, as the store's lock would have it
	resp := exec(&req)
	g.ctl.Unlock()
	enc.Encode(resp)
}

// chunkWriter sends each write as a response with More set.
type chunkWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.err = w.enc.Encode(&Response{Stdout: p, More: true}); w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// ErrNoDaemon: no gateway answers in that state directory.
var ErrNoDaemon = errors.New("no gateway running")

// Call sends a request to the daemon of state directory dir.
func Call(dir string, req *Request) (*Response, error) {
	return CallStream(context.Background(), dir, req, nil)
}

// CallStream is Call that hands the streamed responses (More set) to
// chunk as they arrive; ending ctx hangs up (which ends a stream).
func CallStream(ctx context.Context, dir string, req *Request, chunk func(*Response)) (*Response, error) {
	path := filepath.Join(dir, SocketName)
	if _, err := os.Stat(path); err != nil {
		return nil, ErrNoDaemon
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bufio.NewReader(c))
	for {
		var resp Response
		if err := dec.Decode(&resp); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("gateway control: %v", err)
		}
		if !resp.More {
			return &resp, nil
		}
		if chunk != nil {
			chunk(&resp)
		}
	}
}
