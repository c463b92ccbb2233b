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

// Response is its result.
type Response struct {
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
	Code   int    `json:"code"`
}

// Executor runs a request in the daemon (package tools/gateway supplies
// the tools).
type Executor func(req *Request) *Response

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
	g.ctl.Lock() // one tool at a time, as the store's lock would have it
	resp := exec(&req)
	g.ctl.Unlock()
	json.NewEncoder(c).Encode(resp)
}

// ErrNoDaemon: no gateway answers in that state directory.
var ErrNoDaemon = errors.New("no gateway running")

// Call sends a request to the daemon of state directory dir.
func Call(dir string, req *Request) (*Response, error) {
	path := filepath.Join(dir, SocketName)
	if _, err := os.Stat(path); err != nil {
		return nil, ErrNoDaemon
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("gateway control: %v", err)
	}
	return &resp, nil
}
