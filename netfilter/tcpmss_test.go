package netfilter

import (
	"encoding/binary"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/xt"
)

// TCPMSS through the stack: a forwarded SYN's MSS lowered or added, the
// packet leaving with valid checksums, its new length counted by the
// rules after the target (the kernel counts skb->len at each rule). The
// byte-for-byte comparison with the kernel is kerneldiff's "tcpmss".
func TestTCPMSSForwarded(t *testing.T) {
	eng, err := New(load(t, `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A FORWARD -p tcp
COMMIT
`))
	if err != nil {
		t.Fatal(err)
	}
	h := ctHostModel()
	h.Iface("eth1").MTU = 1400
	st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil), CT: conntrack.NewTable(conntrack.DefaultConfig())}
	for _, c := range []struct {
		opts    []byte
		data    int
		wantOpt []byte
	}{
		{[]byte{2, 4, 0x05, 0xb4}, 0, []byte{2, 4, 0x05, 0x50}},       // 1460 → 1360
		{[]byte{2, 4, 0x05, 0x00}, 0, []byte{2, 4, 0x05, 0x00}},       // 1280: left
		{nil, 0, []byte{2, 4, 0x02, 0x18}},                            // added: 536
		{[]byte{1, 1, 4, 2}, 0, []byte{2, 4, 0x02, 0x18, 1, 1, 4, 2}}, // added first
		{nil, 10, nil}, // data: left
	} {
		b := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0x0a010005, Proto: packet.ProtoTCP, SrcPort: 1000, DstPort: 80,
			TCPFlags: packet.TCPSyn, Seq: 7, TTL: 64, TCPOptions: c.opts, PayloadLen: c.data})
		p := &xt.Pkt{Time: ctT0}
		if err := p.Decode(b); err != nil {
			t.Fatal(err)
		}
		o := st.Receive(p, "eth0", nil)
		if !o.Sent {
			t.Fatalf("%x: not sent: %+v", c.opts, o)
		}
		out := p.B
		checkSums(t, out)
		if got := out[40 : p.IHL+int(out[32]>>4)*4]; string(got) != string(c.wantOpt) {
			t.Errorf("options %x (data %d): got %x, want %x", c.opts, c.data, got, c.wantOpt)
		}
		if int(binary.BigEndian.Uint16(out[2:])) != len(out) {
			t.Errorf("total length %d, packet %d", binary.BigEndian.Uint16(out[2:]), len(out))
		}
	}
	// The counter after the target counts the longer packets.
	var sum uint64
	snap := st.Engine.Snapshot()
	rs := snap.Ruleset.Clone()
	snap.Counters(rs)
	for _, r := range rs.Table("mangle").Chain("FORWARD").Rules {
		sum = r.Counters.Bytes
	}
	if want := uint64(44 + 44 + 44 + 48 + 50); sum != want {
		t.Errorf("the rule after TCPMSS counted %d bytes, want %d", sum, want)
	}
}

// A SYN with a partial checksum (from a device with offloads): the
// pseudo-header sum in the field follows the length change only, and the
// finished checksum is right.
func TestTCPMSSPartialChecksum(t *testing.T) {
	eng, err := New(load(t, `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200
COMMIT
`))
	if err != nil {
		t.Fatal(err)
	}
	h := ctHostModel()
	st := &Stack{Engine: eng, Host: h, Env: NewEnv(h, nil), CT: conntrack.NewTable(conntrack.DefaultConfig())}
	for _, opts := range [][]byte{{2, 4, 0x05, 0xb4, 1, 1, 4, 2}, {1, 1, 4, 2}, nil} {
		b := packet.Build(&packet.Spec{Src: 0x0a000005, Dst: 0x0a010005, Proto: packet.ProtoTCP, SrcPort: 1000, DstPort: 80,
			TCPFlags: packet.TCPSyn, Seq: 7, TTL: 64, TCPOptions: opts})
		p := &xt.Pkt{Time: ctT0}
		if err := p.Decode(b); err != nil {
			t.Fatal(err)
		}
		// The field holds the pseudo-header sum, folded, not complemented.
		l4 := len(b) - 20
		init := uint32(0x0a00) + 0x0005 + 0x0a01 + 0x0005 + 6 + uint32(l4)
		binary.BigEndian.PutUint16(b[36:], ^packet.Checksum16(nil, init))
		p.CsumPartial = true
		if o := st.Receive(p, "eth0", nil); !o.Sent {
			t.Fatalf("%x: not sent", opts)
		}
		if !p.CsumPartial {
			t.Fatal("the checksum is no longer partial")
		}
		p.FinishPartial()
		checkSums(t, p.B)
		if mss := binary.BigEndian.Uint16(p.B[42:]); p.B[40] != 2 || (mss != 1200 && mss != 536) {
			t.Errorf("%x: options %x", opts, p.B[40:])
		}
	}
}
