#!/usr/bin/env bash
# The kernel's per-packet cost of filter INPUT rules, for BENCHMARKS.md:
# two namespaces over a veth pair, N rules in the receiver's INPUT that the
# packets do not match (the same shape as netfilter's BenchmarkFilterInput)
# and a final ACCEPT; a ping flood's mean round trip with N rules minus the
# mean with none is what N rules cost one packet (the echo request crosses
# INPUT once). Needs root and iptables-legacy.
set -euo pipefail
COUNT="${COUNT:-40000}"
a=nfgo-bk-a; b=nfgo-bk-b
cleanup() { ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $a; ip netns add $b
ip link add va netns $a type veth peer name vb netns $b
ip -n $a addr add 10.250.0.1/24 dev va; ip -n $b addr add 10.250.0.2/24 dev vb
ip -n $a link set va up; ip -n $b link set vb up
ip -n $a link set lo up; ip -n $b link set lo up
ip netns exec $a ping -c 3 -q 10.250.0.2 >/dev/null
rules() {
  local n=$1
  echo "*filter"; echo ":INPUT DROP [0:0]"; echo ":FORWARD ACCEPT [0:0]"; echo ":OUTPUT ACCEPT [0:0]"
  for ((i = 0; i < n - 1; i++)); do
    echo "-A INPUT -s 10.$(((i >> 8) & 255)).$((i & 255)).0/24 -p tcp -m tcp --dport $((1 + i % 1000)) -j DROP"
  done
  echo "-A INPUT -j ACCEPT"; echo "COMMIT"
}
rtt() { # mean round trip in nanoseconds over COUNT flood pings
  local s e
  s=$(date +%s%N)
  ip netns exec $a ping -f -q -c "$COUNT" 10.250.0.2 >/dev/null
  e=$(date +%s%N)
  echo $(((e - s) / COUNT))
}
rules 1 | ip netns exec $b iptables-legacy-restore
base=$(rtt); base=$(( (base + $(rtt)) / 2 ))
echo "rules=0 mean_rtt_ns=$base"
for n in 10 100 1000 10000; do
  rules "$n" | ip netns exec $b iptables-legacy-restore
  t=$(rtt); t=$(( (t + $(rtt)) / 2 ))
  echo "rules=$n mean_rtt_ns=$t per_packet_rules_ns=$((t - base)) per_rule_ns=$(echo "scale=2; ($t - $base) / $n" | bc)"
done
