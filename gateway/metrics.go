package gateway

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nfgo/nfgo/netfilter"
)

// The metrics endpoint (Prometheus text format): packets and bytes per
// rule and policy (what iptables -L -v counts), connection tracking
// entries, packets by what became of them, drops by reason, LOG lines
// written, TUN errors, packets per worker. Values are read at scrape time.

var (
	descRulePackets = prometheus.NewDesc("nfgo_rule_packets_total", "Packets counted by a rule (rule 0: the chain's policy).", []string{"table", "chain", "rule"}, nil)
	descRuleBytes   = prometheus.NewDesc("nfgo_rule_bytes_total", "Bytes counted by a rule (rule 0: the chain's policy).", []string{"table", "chain", "rule"}, nil)
	descConntrack   = prometheus.NewDesc("nfgo_conntrack_entries", "Connection tracking entries.", nil, nil)
	descPackets     = prometheus.NewDesc("nfgo_packets_total", "Packets read from the TUN devices, by what became of them.", []string{"result"}, nil)
	descDrops       = prometheus.NewDesc("nfgo_drops_total", "Dropped packets by reason.", []string{"reason"}, nil)
	descLogLines    = prometheus.NewDesc("nfgo_log_lines_total", "LOG and TRACE lines written.", nil, nil)
	descTUNErrors   = prometheus.NewDesc("nfgo_tun_errors_total", "TUN read and write errors.", nil, nil)
	descGSO         = prometheus.NewDesc("nfgo_gso_packets_total", "GSO super-packets read from the TUN devices (each crossed the ruleset once, whole).", nil, nil)
	descWorker      = prometheus.NewDesc("nfgo_gateway_worker_packets_total", "Packets read by each worker (one per queue of a TUN device: device/queue).", []string{"worker"}, nil)
)

type collector struct{ g *Gateway }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRulePackets, descRuleBytes, descConntrack, descPackets, descDrops, descLogLines, descTUNErrors, descGSO, descWorker} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	g := c.g
	snap := g.Stack.Engine.Snapshot()
	rs := snap.Ruleset.Clone()
	snap.Counters(rs)
	for _, t := range rs.Tables {
		for _, ch2 := range t.Chains {
			for i, r := range ch2.Rules {
				n := strconv.Itoa(i + 1)
				ch <- prometheus.MustNewConstMetric(descRulePackets, prometheus.CounterValue, float64(r.Counters.Packets), t.Name, ch2.Name, n)
				ch <- prometheus.MustNewConstMetric(descRuleBytes, prometheus.CounterValue, float64(r.Counters.Bytes), t.Name, ch2.Name, n)
			}
			if ch2.Builtin {
				ch <- prometheus.MustNewConstMetric(descRulePackets, prometheus.CounterValue, float64(ch2.Counters.Packets), t.Name, ch2.Name, "0")
				ch <- prometheus.MustNewConstMetric(descRuleBytes, prometheus.CounterValue, float64(ch2.Counters.Bytes), t.Name, ch2.Name, "0")
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descConntrack, prometheus.GaugeValue, float64(g.Stack.CT.Count()))
	for _, x := range []struct {
		name string
		v    uint64
	}{{"received", g.Received.Load()}, {"forwarded", g.Forwarded.Load()}, {"delivered", g.Delivered.Load()},
		{"dropped", g.Dropped.Load()}, {"generated", g.Generated.Load()}} {
		ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(x.v), x.name)
	}
	g.dropMu.Lock()
	for reason, n := range g.drops {
		ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(n), reason)
	}
	g.dropMu.Unlock()
	ch <- prometheus.MustNewConstMetric(descLogLines, prometheus.CounterValue, float64(g.LogLines.Load()))
	ch <- prometheus.MustNewConstMetric(descTUNErrors, prometheus.CounterValue, float64(g.TUNErrors.Load()))
	ch <- prometheus.MustNewConstMetric(descGSO, prometheus.CounterValue, float64(g.GSO.Load()))
	for w, n := range g.WorkerPackets() {
		ch <- prometheus.MustNewConstMetric(descWorker, prometheus.CounterValue, float64(n), w)
	}
}

// MetricsHandler serves the gateway's metrics.
func (g *Gateway) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{g})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// countDrop counts a dropped packet under its reason: the stack's (no
// route, TTL exceeded, ...) or the deciding table and chain.
func (g *Gateway) countDrop(o *netfilter.Outcome) {
	reason := o.Drop
	if reason == "" && o.NSteps > 0 {
		r := o.Steps[o.NSteps-1].Result
		reason = r.Table + " " + r.Chain
	}
	if reason == "" {
		reason = "malformed"
	}
	g.dropMu.Lock()
	if g.drops == nil {
		g.drops = map[string]uint64{}
	}
	g.drops[reason]++
	g.dropMu.Unlock()
}
