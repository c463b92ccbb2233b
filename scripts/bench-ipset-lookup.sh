#!/usr/bin/env bash
# Set lookups on the packet path, the kernel beside nfgo in one run, for
# BENCHMARKS.md ("Set lookups on the packet path").
#
# Kernel: in a throwaway network namespace whose default route leads to a
# persistent TUN device nobody reads (the kernel drops what it sends, after
# the OUTPUT hook), K sets holding the same elements as nfgo's benchmarks
# (ipset restore), and scripts/ipsetsend sending PACKETS UDP datagrams to
# members of them, scattered over the set as the Go benchmark scatters its
# lookups. OUTPUT runs in the sending thread, so its CPU time per packet
# with K rules "-A OUTPUT -m set --match-set sI dst" (no target, one per
# set: each lookup reads a set of its own, so that one packet's K lookups
# do not warm each other's cache lines) minus the time with no rules,
# divided by K, is what one set match costs (the rule's traversal
# included). "hot 1000" cycles over 1,000 distinct members scattered over
# the set (a gateway's active flows against a big list), its K rules all
# on one set (K sets would make the hot lines K times as many; a packet's
# 2nd..Kth lookups then hit L1, the first one L2 or L3). Each figure is the
# median of N (rules, no rules) pairs. Memory: the kernel's own "Size in
# memory" per entry, and Slab + VmallocUsed of /proc/meminfo after loading
# the K sets against before, per entry (what it really took).
#
# nfgo: go test -bench 'Lookup|IndexOff' ./ipset, median of N runs (ns per
# MatchAt, allocations, memory per entry: Go heap and the index's
# huge-page mappings).
#
# Needs root, ipset, iptables-legacy and tc. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-5}"
K="${K:-16}"
PACKETS="${PACKETS:-1000000}"
HOT="${HOT:-1000}"
work=$(mktemp -d)
ns=nfgo-ipslookup$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/ipsetsend" ./scripts/ipsetsend
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
meminfo() { awk '$1 == "Slab:" || $1 == "VmallocUsed:" {s += $2} END {print s * 1024}' /proc/meminfo; }

# elements TYPE COUNT SET: the restore file of set SET (the elements of
# BenchmarkLookupHashIP* / BenchmarkLookupHashNet*). hashsize is the one
# the kernel grows to when adding them one by one (the same table; the
# restore skips the resizes).
elements() {
  awk -v t="$1" -v n="$2" -v s="$3" 'BEGIN {
    hs = 1024; while (hs * 2 < n) hs *= 2
    if (t == "ip") {
      print "create " s " hash:ip hashsize " hs " maxelem " n+10 " initval 0x12345678"
      for (k = 0; k < n; k++) { ip = 167772160 + k*7
        printf "add %s %d.%d.%d.%d\n", s, int(ip/16777216), int(ip/65536)%256, int(ip/256)%256, ip%256 }
    } else {
      split("32 28 24 20", c, " "); split("167772160 335544320 536870912 1073741824", base, " ")
      print "create " s " hash:net hashsize " hs " maxelem " n+10 " initval 0x12345678"
      for (k = 0; k < n; k++) { p = c[k%4+1]; ip = base[k%4+1] + int(k/4) * 2^(32-p)
        printf "add %s %d.%d.%d.%d/%d\n", s, int(ip/16777216), int(ip/65536)%256, int(ip/256)%256, ip%256, p }
    } }'
}
rules() { # rules COUNT [SET]: COUNT rules, on sets s1..sCOUNT or all on SET
  echo "*filter"
  for ((i = 1; i <= $1; i++)); do echo "-A OUTPUT -m set --match-set ${2:-s$i} dst"; done
  echo "COMMIT"
}

declare -A R
kernel() { # kernel TYPE COUNT
  local t=$1 n=$2
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" tuntap add dev t0 mode tun
  ip -n "$ns" link set t0 up
  ip netns exec "$ns" tc qdisc replace dev t0 root noqueue
  ip -n "$ns" route add default dev t0
  local m0 m1
  m0=$(meminfo)
  for ((i = 1; i <= K; i++)); do elements "$t" "$n" "s$i"; done > "$work/sets"
  ip netns exec "$ns" ipset restore -file "$work/sets"
  m1=$(meminfo)
  local sz e
  sz=$(ip netns exec "$ns" ipset list -t s1 | awk -F': ' '$1 == "Size in memory" {print $2}')
  e=$(ip netns exec "$ns" ipset list -t s1 | awk -F': ' '$1 == "Number of entries" {print $2}')
  R[$t,$n,ksize]=$(echo "scale=1; $sz / $e" | bc)
  R[$t,$n,kmem]=-
  # Too small to see at 1,000 elements among the machine's other allocations.
  [ "$n" -ge 100000 ] && R[$t,$n,kmem]=$(echo "scale=1; ($m1 - $m0) / ($e * $K)" | bc)
  local mode hot set
  for mode in scattered hot; do
    hot=0 set=
    if [ $mode = hot ]; then
      [ "$n" -le "$HOT" ] && continue
      hot=$HOT set=s1
    fi
    for ((r = 0; r < N; r++)); do
      rules 0 | ip netns exec "$ns" iptables-legacy-restore
      local b a
      b=$(ip netns exec "$ns" "$work/ipsetsend" -type "$t" -n "$n" -hot "$hot" -packets "$PACKETS")
      rules "$K" $set | ip netns exec "$ns" iptables-legacy-restore
      a=$(ip netns exec "$ns" "$work/ipsetsend" -type "$t" -n "$n" -hot "$hot" -packets "$PACKETS")
      echo "scale=1; ($a - $b) / $K" | bc
    done > "$work/k"
    R[$t,$n,k$mode]=$(median < "$work/k")
    echo "kernel hash:$t $n $mode: per lookup ns $(tr '\n' ' ' < "$work/k")" >&2
  done
  if [ "$t$n" = ip1000 ]; then
    # What a rule costs without a set match: K rules "-d 192.0.2.99"
    # (never matched), minus none.
    for ((r = 0; r < N; r++)); do
      rules 0 | ip netns exec "$ns" iptables-legacy-restore
      b=$(ip netns exec "$ns" "$work/ipsetsend" -type ip -n "$n" -packets "$PACKETS")
      { echo "*filter"; for ((i = 1; i <= K; i++)); do echo "-A OUTPUT -d 192.0.2.99/32"; done; echo COMMIT; } |
        ip netns exec "$ns" iptables-legacy-restore
      a=$(ip netns exec "$ns" "$work/ipsetsend" -type ip -n "$n" -packets "$PACKETS")
      echo "scale=1; ($a - $b) / $K" | bc
    done > "$work/k"
    R[rule]=$(median < "$work/k")
    echo "kernel, a rule without a set match: per rule ns $(tr '\n' ' ' < "$work/k")" >&2
  fi
  # The rules count what matched: every packet, in every set.
  ip netns exec "$ns" iptables-legacy -L OUTPUT -nvx | awk 'NR == 3 {print "  (last rule set: first rule matched " $1 " packets)"}' >&2
  ip netns del "$ns"
  # Wait until the kernel has freed the sets (a worker does it after the
  # namespace is gone), so that it does not run beside the next measurement.
  for ((i = 0; i < 300; i++)); do
    [ "$(meminfo)" -le $((m0 + (64 << 20))) ] && break
    sleep 1
  done
}

# nfgo first, the same elements and lookup orders (the kernel frees a
# deleted namespace's sets in the background, which would disturb it).
go test -count="$N" -run '^$' -bench 'Lookup|IndexOff' -benchmem ./ipset | tee "$work/go" >&2

for t in ip net; do
  for n in 1000 1000000; do kernel $t $n; done
done

gomed() { # gomed BENCH FIELD-UNIT
  awk -v b="$1" -v u="$2" '$1 ~ "^Benchmark"b"(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == u) print $i }' "$work/go" | median
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && echo "scale=1; $2 / $1" | bc || echo "-"; }
echo
echo "Set match, ns per lookup (median of $N; kernel: $K rules/sets, $PACKETS packets per run)"
printf '%-34s %10s %10s %8s   %10s %10s %8s\n' "case" "nfgo 1k" "nfgo 1M" "1M/1k" "kernel 1k" "kernel 1M" "1M/1k"
row() { # row LABEL GO1k GO1M K1k K1M
  printf '%-34s %10s %10s %8s   %10s %10s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "$4" "$5" "$(ratio "$4" "$5")"
}
for t in ip net; do
  T=IP; [ $t = net ] && T=Net
  row "hash:$t scattered" "$(gomed LookupHash${T}1kRandom ns/op)" "$(gomed LookupHash${T}1MRandom ns/op)" "${R[$t,1000,kscattered]}" "${R[$t,1000000,kscattered]}"
  row "hash:$t hot $HOT of the set" "$(gomed LookupHash${T}1kRandom ns/op)" "$(gomed LookupHash${T}1MHot ns/op)" "${R[$t,1000,kscattered]}" "${R[$t,1000000,khot]}"
  row "hash:$t in order (nfgo only)" "$(gomed LookupHash${T}1k ns/op)" "$(gomed LookupHash${T}1M ns/op)" "" ""
done
echo "kernel, a rule that never matches (-d 192.0.2.99): ${R[rule]} ns per rule (the traversal in the figures above)"
echo
echo "Memory per entry (bytes)"
printf '%-12s %16s %16s %22s %22s\n' "set" "nfgo mem 1k" "nfgo mem 1M" "kernel Size/entry 1k/1M" "kernel slab+vmalloc 1k/1M"
for t in ip net; do
  T=IP; [ $t = net ] && T=Net
  printf '%-12s %16s %16s %22s %22s\n' "hash:$t" "$(gomed LookupHash${T}1kRandom memB/entry)" "$(gomed LookupHash${T}1MRandom memB/entry)" \
    "${R[$t,1000,ksize]} / ${R[$t,1000000,ksize]}" "${R[$t,1000,kmem]} / ${R[$t,1000000,kmem]}"
done
echo
echo "nfgo, 1,000,000 scattered, an index feature off (ns per lookup; with it: above)"
for b in IndexOffHashIP1MRandomNoHuge IndexOffHashNet1MRandomNoHuge IndexOffHashNet1MRandomNoFilter; do
  printf '  %-34s %8s\n' "$b" "$(gomed $b ns/op)"
done
echo "allocations per lookup (nfgo): $(awk '$1 ~ /^BenchmarkLookup/ {for (i = 3; i < NF; i++) if ($(i+1) == "allocs/op") print $i}' "$work/go" | sort -u | tr '\n' ' ')"
