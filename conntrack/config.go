package conntrack

import (
	"os"
	"strconv"
	"strings"
)

// Config holds the per-namespace knobs of the kernel's connection tracker
// (net.netfilter.nf_conntrack_* sysctls). Timeouts are in seconds, as the
// sysctls show them.
type Config struct {
	Max     int // nf_conntrack_max: 0 means no limit
	Buckets int // nf_conntrack_buckets (hash table size)

	Checksum bool // nf_conntrack_checksum: verify L4 checksums at PREROUTING

	// ExpectMax is nf_conntrack_expect_max: at most this many
	// expectations (0: four per expectation hash bucket, the kernel's
	// default of buckets/256*4).
	ExpectMax int

	TCPLoose            bool // nf_conntrack_tcp_loose: pick up connections mid-stream
	TCPBeLiberal        bool // nf_conntrack_tcp_be_liberal
	TCPNoWindowCheck    bool // nf_conntrack_tcp_no_window_check
	TCPIgnoreInvalidRST bool // nf_conntrack_tcp_ignore_invalid_rst
	TCPMaxRetrans       int  // nf_conntrack_tcp_max_retrans

	// Timeouts in seconds.
	GenericTimeout   uint32
	TCPTimeouts      [tcpTimeoutMax]uint32 // indexed by TCP state (and retrans/unack)
	UDPTimeout       uint32
	UDPTimeoutStream uint32
	ICMPTimeout      uint32
	GRETimeout       uint32
	GRETimeoutStream uint32
}

// Sysctl is one tunable: its name under /proc/sys/net/netfilter, the
// Linux 6.18 default, and where it lives in a Config.
type Sysctl struct {
	Name    string
	Default int
	field   func(c *Config) any // *uint32, *int or *bool
}

// Sysctls lists the tunables this package honours with the Linux 6.18
// defaults (nf_conntrack_standalone.c, nf_conntrack_proto_*.c). Max and
// Buckets default to what the kernel computes on a machine with more than
// 4 GiB of memory (nf_conntrack_init_start: 262144 buckets, max factor 1).
var Sysctls = []Sysctl{
	{"nf_conntrack_max", 262144, func(c *Config) any { return &c.Max }},
	{"nf_conntrack_buckets", 262144, func(c *Config) any { return &c.Buckets }},
	{"nf_conntrack_checksum", 1, func(c *Config) any { return &c.Checksum }},
	{"nf_conntrack_tcp_loose", 1, func(c *Config) any { return &c.TCPLoose }},
	{"nf_conntrack_tcp_be_liberal", 0, func(c *Config) any { return &c.TCPBeLiberal }},
	{"nf_conntrack_tcp_no_window_check", 0, func(c *Config) any { return &c.TCPNoWindowCheck }},
	{"nf_conntrack_tcp_ignore_invalid_rst", 0, func(c *Config) any { return &c.TCPIgnoreInvalidRST }},
	{"nf_conntrack_tcp_max_retrans", 3, func(c *Config) any { return &c.TCPMaxRetrans }},
	{"nf_conntrack_generic_timeout", 600, func(c *Config) any { return &c.GenericTimeout }},
	{"nf_conntrack_tcp_timeout_syn_sent", 120, func(c *Config) any { return &c.TCPTimeouts[TCPSynSent] }},
	{"nf_conntrack_tcp_timeout_syn_recv", 60, func(c *Config) any { return &c.TCPTimeouts[TCPSynRecv] }},
	{"nf_conntrack_tcp_timeout_established", 432000, func(c *Config) any { return &c.TCPTimeouts[TCPEstablished] }},
	{"nf_conntrack_tcp_timeout_fin_wait", 120, func(c *Config) any { return &c.TCPTimeouts[TCPFinWait] }},
	{"nf_conntrack_tcp_timeout_close_wait", 60, func(c *Config) any { return &c.TCPTimeouts[TCPCloseWait] }},
	{"nf_conntrack_tcp_timeout_last_ack", 30, func(c *Config) any { return &c.TCPTimeouts[TCPLastAck] }},
	{"nf_conntrack_tcp_timeout_time_wait", 120, func(c *Config) any { return &c.TCPTimeouts[TCPTimeWait] }},
	{"nf_conntrack_tcp_timeout_close", 10, func(c *Config) any { return &c.TCPTimeouts[TCPClose] }},
	{"nf_conntrack_tcp_timeout_max_retrans", 300, func(c *Config) any { return &c.TCPTimeouts[tcpRetrans] }},
	{"nf_conntrack_tcp_timeout_unacknowledged", 300, func(c *Config) any { return &c.TCPTimeouts[tcpUnack] }},
	{"nf_conntrack_udp_timeout", 30, func(c *Config) any { return &c.UDPTimeout }},
	{"nf_conntrack_udp_timeout_stream", 120, func(c *Config) any { return &c.UDPTimeoutStream }},
	{"nf_conntrack_icmp_timeout", 30, func(c *Config) any { return &c.ICMPTimeout }},
	{"nf_conntrack_gre_timeout", 30, func(c *Config) any { return &c.GRETimeout }},
	{"nf_conntrack_gre_timeout_stream", 180, func(c *Config) any { return &c.GRETimeoutStream }},
	{"nf_conntrack_expect_max", 4096, func(c *Config) any { return &c.ExpectMax }},
}

func (s *Sysctl) set(c *Config, v int) {
	switch f := s.field(c).(type) {
	case *uint32:
		*f = uint32(v)
	case *int:
		*f = v
	case *bool:
		*f = v != 0
	}
}

// DefaultConfig is the compiled-in Linux 6.18 configuration.
func DefaultConfig() Config {
	var c Config
	for i := range Sysctls {
		Sysctls[i].set(&c, Sysctls[i].Default)
	}
	c.fixup()
	return c
}

// fixup fills the TCP timeouts that have no sysctl of their own, as
// nf_conntrack_tcp_init_net does: SYN_SENT2 is 2 minutes (not tunable),
// and slot 0 (NONE) mirrors SYN_SENT.
func (c *Config) fixup() {
	c.TCPTimeouts[TCPNone] = c.TCPTimeouts[TCPSynSent]
	if c.TCPTimeouts[TCPSynSent2] == 0 {
		c.TCPTimeouts[TCPSynSent2] = 120
	}
}

// SysctlDir is where HostConfig reads the running kernel's values.
var SysctlDir = "/proc/sys/net/netfilter"

// HostConfig is DefaultConfig with every sysctl that the running kernel
// exposes (in the current network namespace) read from SysctlDir. Values
// that cannot be read keep the compiled-in default.
func HostConfig() Config {
	c := DefaultConfig()
	for i := range Sysctls {
		b, err := os.ReadFile(SysctlDir + "/" + Sysctls[i].Name)
		if err != nil {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		Sysctls[i].set(&c, v)
	}
	c.fixup()
	return c
}
