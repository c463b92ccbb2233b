package logline

import (
	"encoding/binary"
	"testing"
)

// The line from seed article 000 (an outgoing RST logged at OUTPUT by a
// kernel before AccECN; RES and flags print the same for this packet).
func TestSeedRSTLine(t *testing.T) {
	ip := make([]byte, 40)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 40)
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = 6
	copy(ip[12:], []byte{10, 0, 186, 75})
	copy(ip[16:], []byte{10, 0, 175, 109})
	binary.BigEndian.PutUint16(ip[20:], 8182)
	binary.BigEndian.PutUint16(ip[22:], 9366)
	binary.BigEndian.PutUint32(ip[28:], 1747027778)
	ip[32] = 5 << 4
	ip[33] = 0x14 // ACK RST
	got := string(Append(nil, &Packet{Prefix: "[drds] ", Out: "eth0", IP: ip, Flags: TCPSeq | TCPOpt | IPOpt}))
	want := "[drds] IN= OUT=eth0 SRC=10.0.186.75 DST=10.0.175.109 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=8182 DPT=9366 SEQ=0 ACK=1747027778 WINDOW=0 RES=0x00 ACK RST URGP=0 "
	if got != want {
		t.Fatalf("\ngot  %q\nwant %q", got, want)
	}
}

func TestAppendNoAllocs(t *testing.T) {
	ip := make([]byte, 60)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 60)
	ip[9] = 1
	ip[20] = 3
	ip[28] = 0x45
	p := &Packet{Prefix: "x ", In: "eth0", MAC: make([]byte, 14), HardHeaderLen: 14, IP: ip, Mark: 7}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], p) }); n != 0 {
		t.Fatalf("%.1f allocations", n)
	}
}

func FuzzAppend(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, uint8(0xff))
	f.Fuzz(func(t *testing.T, ip []byte, flags uint8) {
		Append(nil, &Packet{In: "eth0", MAC: ip, HardHeaderLen: 14, MACEther: true, IP: ip, Flags: flags, Mark: 1})
	})
}
