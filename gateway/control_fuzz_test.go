package gateway

import (
	"encoding/json"
	"net"
	"testing"
	"time"
)

// FuzzControlRequest: any bytes sent to the control socket get an answer
// or a closed connection, never a panic or a hang; a well-formed request
// reaches the executor with its tool and arguments.
func FuzzControlRequest(f *testing.F) {
	f.Add([]byte(`{"tool":"iptables","args":["-L","-n"]}`))
	f.Add([]byte(`{"tool":"conntrack","args":["-L"],"stdin":"AAE="}`))
	f.Add([]byte(`{"tool":`))
	f.Add([]byte("\x00\xff"))
	dir := f.TempDir()
	l, err := net.Listen("unix", dir+"/c.sock")
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &Gateway{}
		var got *Request
		done := make(chan struct{})
		go func() {
			a, err := l.Accept()
			if err == nil {
				g.serveConn(a, func(r *Request) *Response {
					got = r
					return &Response{Code: 0, Stdout: []byte("ok")}
				})
			}
			close(done)
		}()
		c, err := net.Dial("unix", dir+"/c.sock")
		if err != nil {
			t.Fatal(err)
		}
		b := c.(*net.UnixConn)
		b.SetDeadline(time.Now().Add(5 * time.Second))
		b.Write(data)
		b.CloseWrite() // the end of the request
		var resp Response
		err = json.NewDecoder(b).Decode(&resp)
		b.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the control connection hung")
		}
		var req Request
		if json.Unmarshal(data, &req) == nil && err == nil && got == nil && resp.Code == 0 {
			t.Fatalf("a well-formed request %q never reached the executor", data)
		}
	})
}
