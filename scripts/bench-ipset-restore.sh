#!/usr/bin/env bash
# Side by side: "ipset restore" of a file of 1,000,000 adds into nfgo's
# store (tools/ipset Main, through the nfgo binary) and into the kernel
# with the real ipset (in a throwaway network namespace), in the same run.
# Two files: a hash:ip of 1,000,000 addresses and a hash:net of 1,000,000
# networks of mixed prefix lengths (/32, /28, /24, /20 in turn), the same
# elements as the lookup benchmarks in ipset/ipset_test.go. Prints the
# median wall time of N runs of each (a fresh store / namespace each run),
# and the kernel's "Size in memory" per entry from "ipset list -t".
# Needs root and the real ipset for the kernel half.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-3}"
COUNT="${COUNT:-1000000}"
work=$(mktemp -d)
ns=nfgo-ipbench$$
trap 'rm -rf "$work"; ip netns del "$ns" 2>/dev/null || true' EXIT
go build -o "$work/nfgo" ./cmd/nfgo
awk -v n="$COUNT" 'BEGIN {
  print "create s hash:ip maxelem " n+10 " initval 0x12345678"
  for (k = 0; k < n; k++) { ip = 167772160 + k*7
    printf "add s %d.%d.%d.%d\n", int(ip/16777216), int(ip/65536)%256, int(ip/256)%256, ip%256 } }' > "$work/hash_ip"
awk -v n="$COUNT" 'BEGIN {
  split("32 28 24 20", c, " "); split("167772160 335544320 536870912 1073741824", base, " ")
  print "create s hash:net maxelem " n+10 " initval 0x12345678"
  for (k = 0; k < n; k++) { p = c[k%4+1]; ip = base[k%4+1] + int(k/4) * 2^(32-p)
    printf "add s %d.%d.%d.%d/%d\n", int(ip/16777216), int(ip/65536)%256, int(ip/256)%256, ip%256, p } }' > "$work/hash_net"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
field() { awk -F': ' -v k="$1" '$1 == k {print $2}'; }
for f in hash_ip hash_net; do
  echo "$f: $(grep -c '^add' "$work/$f") adds"
  for i in $(seq "$N"); do
    rm -rf "$work/st"; NFGO_STATE_DIR="$work/st" t "$work/nfgo" ipset restore -exist -file "$work/$f"
  done | median | sed "s/^/  nfgo ipset restore (s): /"
  l=$(NFGO_STATE_DIR="$work/st" "$work/nfgo" ipset list -t s)
  echo "  nfgo: entries $(echo "$l" | field 'Number of entries'), emulated kernel Size in memory $(echo "$l" | field 'Size in memory')"
  if command -v ipset >/dev/null && [ "$(id -u)" = 0 ]; then
    for i in $(seq "$N"); do
      ip netns add "$ns"
      t ip netns exec "$ns" ipset restore -exist -file "$work/$f"
      [ "$i" = "$N" ] && ip netns exec "$ns" ipset list -t s > "$work/klist"
      ip netns del "$ns"
    done | median | sed "s/^/  kernel ipset restore (s): /"
    m=$(field 'Size in memory' < "$work/klist"); e=$(field 'Number of entries' < "$work/klist")
    echo "  kernel: entries $e, Size in memory $m, $(echo "scale=1; $m / $e" | bc) bytes per entry"
  fi
done
