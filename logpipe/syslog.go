package logpipe

import (
	"net"
	"sync"
	"time"
)

// DefaultSyslogPath is the local syslog socket.
const DefaultSyslogPath = "/dev/log"

// Syslog is a sink sending each line as one datagram to a local syslog
// daemon's unix socket, in the form kernel lines reach it from journald
// (ForwardToSyslog) or klogd: an RFC 3164 message with facility kern and
// the LOG rule's level as its PRI, the line's time as TIMESTAMP, no
// HOSTNAME (a local socket's messages have none) and the tag "kernel:":
//
//	<7>Apr 26 15:27:36 kernel: [plantegg] IN= OUT=eth0 SRC=10.0.186.75 ...
//
// rsyslog (imuxsock, 8.2302) takes that as programname "kernel",
// facility kern, severity 7, and writes it to a file as
// "Apr 26 15:27:36 HOST kernel: [plantegg] IN= ...", seed 000's line.
// Its msg property keeps the space after the tag, so an rsyslog rule for
// these lines matches `:msg, startswith, " [plantegg]"` (or `contains`);
// seed 000's `startswith, "[plantegg]"` matches the lines imklog reads
// from the kernel itself. A bare "<4>[plantegg] IN=..." is no better:
// rsyslog makes "[plantegg]" the tag and msg " IN=...". imuxsock replaces
// TIMESTAMP with the time of reception unless SysSock.UseSysTimeStamp and
// SysSock.IgnoreTimestamp are "off" (TestRsyslogReceives shows all this
// with the rsyslogd found on the machine).
type Syslog struct {
	path string
	tag  string
	mu   sync.Mutex
	conn net.Conn
	buf  []byte
}

// DialSyslog connects to the syslog socket at path ("" means /dev/log).
func DialSyslog(path string) (*Syslog, error) {
	if path == "" {
		path = DefaultSyslogPath
	}
	s := &Syslog{path: path, tag: "kernel"}
	if err := s.dial(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Syslog) dial() error {
	c, err := net.Dial("unixgram", s.path)
	if err != nil {
		return err
	}
	s.conn = c
	return nil
}

// Format appends the datagram Syslog sends for a line.
func (s *Syslog) Format(b []byte, t time.Time, level uint8, line []byte) []byte {
	const facilityKern = 0
	b = append(b, '<')
	b = appendUint(b, facilityKern*8+uint(level&7))
	b = append(b, '>')
	b = t.AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = append(b, s.tag...)
	b = append(b, ": "...)
	return append(b, line...)
}

func appendUint(b []byte, v uint) []byte {
	if v >= 10 {
		b = appendUint(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// WriteLine implements Sink. When the daemon went away (restarted), it
// reconnects once and sends again.
func (s *Syslog) WriteLine(t time.Time, level uint8, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.Format(s.buf[:0], t, level, line)
	if s.conn != nil {
		if _, err := s.conn.Write(s.buf); err == nil {
			return nil
		}
		s.conn.Close()
		s.conn = nil
	}
	if err := s.dial(); err != nil {
		return err
	}
	_, err := s.conn.Write(s.buf)
	return err
}

// Close implements Sink.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
