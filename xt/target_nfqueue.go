package xt

import (
	"fmt"
	"strings"
)

// NFQUEUE: -j NFQUEUE [--queue-num N | --queue-balance A:B] [--queue-bypass]
// [--queue-cpu-fanout]  (libxt_NFQUEUE revision 3, struct xt_NFQ_info_v3:
// the revision 1.8.9 picks on current kernels; its save form always names
// the queue, "--queue-num 0" included).

var nfqueueTarget = Def{
	Name:     "NFQUEUE",
	Kind:     KindTarget,
	Revision: 3,
	Options: []Option{
		{Name: "queue-num", Arg: true, Excl: []string{"queue-balance"}},
		{Name: "queue-balance", Arg: true, Excl: []string{"queue-num"}},
		{Name: "queue-bypass"},
		{Name: "queue-cpu-fanout", Also: []string{"queue-balance"}},
	},
	New: func() Ext { return &NFQueue{QueuesTotal: 1} },
}

// NFQUEUE flags (NFQ_FLAG_*).
const (
	NFQFlagBypass    = 0x01
	NFQFlagCPUFanout = 0x02
)

// NFQueue is struct xt_NFQ_info_v3.
type NFQueue struct {
	QueueNum    uint16
	QueuesTotal uint16
	Flags       uint16
}

func (q *NFQueue) Parse(c *Ctx, o *Option, arg string, invert bool) error {
	switch o.Name {
	case "queue-num":
		v, err := ParseUintOpt("NFQUEUE", o.Name, arg, 0, 0xFFFF)
		if err != nil {
			return err
		}
		q.QueueNum = uint16(v)
	case "queue-balance":
		// 1.8.13: the range's upper bound is the entry's max, 65534
		// (":" is 0:65534, "0:65535" is refused with "(0-65534)" in the
		// message); 1.8.9 uses the type's 65535, so ":" and "0:65535"
		// make queues_total 0 (kernel EINVAL) and "4:" saves as
		// "4:65535" (differential tests skip "nfqueue-balance-max").
		r, err := ParseMint("NFQUEUE", o.Name, arg, 0xFFFF-1, 2)
		if err != nil {
			return err
		}
		if len(r) != 2 {
			return Errorf("Bad range \"%s\"", arg)
		}
		if r[0] >= r[1] {
			return Errorf("%d should be less than %d", r[0], r[1])
		}
		q.QueueNum = uint16(r[0])
		q.QueuesTotal = uint16(r[1] - r[0] + 1)
	case "queue-bypass":
		q.Flags |= NFQFlagBypass
	case "queue-cpu-fanout":
		q.Flags |= NFQFlagCPUFanout
	}
	return nil
}

func (q *NFQueue) Final(c *Ctx) error { return nil }

// Check is nfqueue_tg_check.
func (q *NFQueue) Check(c *Ctx) error {
	if q.QueuesTotal == 0 {
		return EINVAL("xt_NFQUEUE: number of total queues is 0")
	}
	return nil
}

func (q *NFQueue) print(b *strings.Builder, balance, num, bypass, fanout string) {
	if q.QueuesTotal > 1 {
		fmt.Fprintf(b, balance, q.QueueNum, uint32(q.QueuesTotal)+uint32(q.QueueNum)-1)
	} else {
		fmt.Fprintf(b, num, q.QueueNum)
	}
	if q.Flags&NFQFlagBypass != 0 {
		b.WriteString(bypass)
	}
	if q.Flags&NFQFlagCPUFanout != 0 {
		b.WriteString(fanout)
	}
}

func (q *NFQueue) Save(b *strings.Builder, c *Ctx) {
	q.print(b, " --queue-balance %d:%d", " --queue-num %d", " --queue-bypass", " --queue-cpu-fanout")
}

func (q *NFQueue) Print(b *strings.Builder, c *Ctx, numeric bool) {
	q.print(b, " NFQUEUE balance %d:%d", " NFQUEUE num %d", " bypass", " cpu-fanout")
}
