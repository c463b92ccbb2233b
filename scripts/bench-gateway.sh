#!/usr/bin/env bash
# TCP throughput and UDP packet rate through nfgo gateway, beside the
# kernel forwarding the same traffic with the same ruleset, measured in the
# same run (BENCHMARKS.md "Gateway"). Needs root, iperf3, iptables-legacy.
#
#   SECONDS_PER_RUN=5 ./scripts/bench-gateway.sh
#
# PARALLEL=N runs N iperf3 streams at once (iperf3 -P; default 1);
# QUEUES=N gives the gateway's devices N queues (nfgo gateway --queues;
# default: its own, one per CPU).
#
# Topology: a client namespace and a server namespace. Kernel: a router
# namespace joined to both by veth pairs, forwarding. nfgo: the gateway's
# two TUN devices moved into the client and server namespaces. Ruleset
# (both): FORWARD policy DROP, ESTABLISHED,RELATED accepted, new TCP and
# UDP to the server accepted, MASQUERADE out of the server side.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${SECONDS_PER_RUN:-5}"
P="${PARALLEL:-1}"
QUEUES="${QUEUES:-}"
for c in iperf3 iptables-legacy-restore ip; do
  command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 1; }
done
go build -o /tmp/nfgo-bench ./cmd/nfgo
id=$$
C=nfgbc$id S=nfgbs$id R=nfgbr$id
cleanup() {
  [ -n "${GWPID:-}" ] && kill "$GWPID" 2>/dev/null || true
  for n in $C $S $R; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
rules() { # $1 = the server-side interface
  cat <<EOF
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o $1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 5201 -m state --state NEW -j ACCEPT
-A FORWARD -p udp -m udp --dport 5201 -m state --state NEW -j ACCEPT
COMMIT
EOF
}
measure() { # prints "tcp_gbit udp_kpps"
  ip netns exec $S iperf3 -s -D -1 -p 5201 >/dev/null
  sleep 0.5
  tcp=$(ip netns exec $C iperf3 -c 10.79.2.2 -p 5201 -t "$T" -P "$P" -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
  ip netns exec $S iperf3 -s -D -1 -p 5201 >/dev/null
  sleep 0.5
  udp=$(ip netns exec $C iperf3 -c 10.79.2.2 -p 5201 -u -b 0 -l 64 -t "$T" -P "$P" -J | python3 -c 'import json,sys; d=json.load(sys.stdin)["end"]["sum"]; print("%.0f" % ((d["packets"]-d["lost_packets"])/d["seconds"]/1e3))')
  echo "$tcp $udp"
}
for n in $C $S $R; do ip netns add $n; ip -n $n link set lo up; done

# The kernel: client - router - server over veth.
ip link add c0 netns $C type veth peer name r0 netns $R
ip link add r1 netns $R type veth peer name s0 netns $S
ip -n $C addr add 10.79.1.2/24 dev c0; ip -n $C link set c0 up; ip -n $C route add default via 10.79.1.1
ip -n $R addr add 10.79.1.1/24 dev r0; ip -n $R link set r0 up
ip -n $R addr add 10.79.2.1/24 dev r1; ip -n $R link set r1 up
ip -n $S addr add 10.79.2.2/24 dev s0; ip -n $S link set s0 up; ip -n $S route add default via 10.79.2.1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
rules r1 | ip netns exec $R iptables-legacy-restore
read -r ktcp kudp < <(measure)
ip -n $C link del c0; ip -n $S link del s0

# nfgo: the gateway's TUN devices in the client and server namespaces.
state=$(mktemp -d)
rules nfgbs1 > "$state/rules.v4"
/tmp/nfgo-bench gateway --state "$state" ${QUEUES:+--queues "$QUEUES"} \
  --tun nfgbc1,10.79.1.1/24,netns=$C,peer=10.79.1.2/24,default \
  --tun nfgbs1,10.79.2.1/24,netns=$S,peer=10.79.2.2/24,default 2>/tmp/nfgo-bench-gw.log &
GWPID=$!
for i in $(seq 50); do ip netns exec $C ping -c1 -W1 10.79.1.1 >/dev/null 2>&1 && break; sleep 0.1; done
read -r ntcp nudp < <(measure)
echo "streams $P, nfgo queues ${QUEUES:-default ($(nproc) CPUs)}"
echo "TCP  kernel ${ktcp} Gbit/s  nfgo ${ntcp} Gbit/s  ratio $(python3 -c "print('%.3f' % ($ntcp/$ktcp))")"
echo "UDP  kernel ${kudp} kpps (64-byte payloads)  nfgo ${nudp} kpps  ratio $(python3 -c "print('%.3f' % ($nudp/$kudp))")"
