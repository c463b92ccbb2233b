#!/usr/bin/env bash
# Side by side: iptables-restore of a 100,000-rule file into nfgo's store
# and into the kernel with iptables-legacy-restore (in a throwaway network
# namespace), in the same run. Prints the median of N runs of each, in
# seconds. Needs root and iptables-legacy for the kernel half.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-5}"
work=$(mktemp -d)
trap 'rm -rf "$work"; ip netns del nfgo-bench 2>/dev/null || true' EXIT
go build -o "$work/nfgo" ./cmd/nfgo
NFGO_BENCH_WRITE="$work/rules" go test -run '^$' -bench 'Restore100k' -benchtime 1x ./tools/iptables >/dev/null
echo "rules: $(grep -c '^-A' "$work/rules")"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for i in $(seq "$N"); do
  rm -rf "$work/st"; NFGO_STATE_DIR="$work/st" t "$work/nfgo" iptables-restore "$work/rules"
done | median | sed 's/^/nfgo iptables-restore (s): /'
if command -v iptables-legacy-restore >/dev/null && [ "$(id -u)" = 0 ]; then
  ip netns add nfgo-bench
  for i in $(seq "$N"); do
    t ip netns exec nfgo-bench iptables-legacy-restore "$work/rules"
  done | median | sed 's/^/kernel iptables-legacy-restore (s): /'
fi
