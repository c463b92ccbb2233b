#!/usr/bin/env bash
# The kernel's cost of connection tracking, for BENCHMARKS.md ("Connection
# tracking (step 3)"): two namespaces over a veth pair, the receiver (b)
# with one of three filter INPUT rulesets:
#   none       no rules: b has no conntrack hooks at all
#   stateless  99 rules the traffic does not match, then -j ACCEPT
#   stateful   -m state --state RELATED,ESTABLISHED -j ACCEPT, 98 rules
#              that do not match, then -m state --state NEW -j ACCEPT
#              (the shape of netfilter's BenchmarkStatefulReceive)
# and two measurements for each:
#   rtt   a ping flood's mean round trip (ns): every echo request after the
#         first is ESTABLISHED in b, and its reply goes through b's OUTPUT
#         conntrack step
#   conn  new TCP connections per second from a Python client in a to a
#         Python listener in b (connect, the server accepts and closes, the
#         client reads EOF and closes: no TIME_WAIT on the client side); one
#         entry per connection in b's table
# Needs root, iptables-legacy and python3. Noisy: read the differences
# with the variation between repeated runs in mind.
set -euo pipefail
COUNT="${COUNT:-40000}" # pings per rtt measurement
DUR="${DUR:-5}"         # seconds per conn measurement
ROUNDS="${ROUNDS:-3}"   # the three rulesets are measured in turn, ROUNDS times
a=nfgo-bc-a; b=nfgo-bc-b
srv=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
  ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add $a; ip netns add $b
ip link add va netns $a type veth peer name vb netns $b
ip -n $a addr add 10.251.0.1/24 dev va; ip -n $b addr add 10.251.0.2/24 dev vb
ip -n $a link set va up; ip -n $b link set vb up
ip -n $a link set lo up; ip -n $b link set lo up
ip netns exec $a sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
ip netns exec $a ping -c 3 -q 10.251.0.2 >/dev/null

ip netns exec $b python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.251.0.2", 5001)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()
' &
srv=$!
sleep 0.5

rules() {
  echo "*filter"; echo ":INPUT DROP [0:0]"; echo ":FORWARD ACCEPT [0:0]"; echo ":OUTPUT ACCEPT [0:0]"
  case $1 in
  none) echo "-P INPUT ACCEPT" ;;
  stateless)
    for ((i = 0; i < 99; i++)); do
      echo "-A INPUT -s 10.$((100 + (i >> 8) & 127)).$((i & 255)).0/24 -p tcp -m tcp --dport $((1 + i % 1000)) -j DROP"
    done
    echo "-A INPUT -j ACCEPT" ;;
  stateful)
    echo "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT"
    for ((i = 0; i < 98; i++)); do
      echo "-A INPUT -s 10.$((100 + (i >> 8) & 127)).$((i & 255)).0/24 -p tcp -m tcp --dport $((1 + i % 1000)) -j DROP"
    done
    echo "-A INPUT -m state --state NEW -j ACCEPT" ;;
  esac
  echo "COMMIT"
}
rtt() { # mean round trip in nanoseconds over COUNT flood pings
  local s e
  s=$(date +%s%N)
  ip netns exec $a ping -f -q -c "$COUNT" 10.251.0.2 >/dev/null
  e=$(date +%s%N)
  echo $(((e - s) / COUNT))
}
conns() { # new TCP connections per second over DUR seconds
  ip netns exec $a python3 -c '
import socket, sys, time
dur = float(sys.argv[1]); n = 0
end = time.monotonic() + dur
while time.monotonic() < end:
    for _ in range(100):
        c = socket.create_connection(("10.251.0.2", 5001))
        c.recv(1); c.close()
    n += 100
print(int(n / dur))
' "$DUR"
}
out=$(mktemp)
for ((round = 1; round <= ROUNDS; round++)); do
  for rs in none stateless stateful; do
    rules $rs | ip netns exec $b iptables-legacy-restore
    ip netns exec $b conntrack -F 2>/dev/null || true
    r=$(rtt); r=$(((r + $(rtt)) / 2))
    c=$(conns)
    n=$(ip netns exec $b cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo -)
    echo "round=$round rules=$rs mean_rtt_ns=$r conn_per_s=$c ct_entries_after=$n" | tee -a "$out"
  done
done
# Medians over the rounds.
for rs in none stateless stateful; do
  r=$(grep "rules=$rs " "$out" | sed 's/.*mean_rtt_ns=\([0-9]*\).*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  c=$(grep "rules=$rs " "$out" | sed 's/.*conn_per_s=\([0-9]*\).*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  echo "median rules=$rs mean_rtt_ns=$r conn_per_s=$c ns_per_conn=$((1000000000 / c))"
done
rm -f "$out"
