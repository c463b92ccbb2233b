#!/usr/bin/env bash
# The project's test command (README and .ci/run both call it): all unit,
# conformance and differential tests, then each fuzz target for a short
# while. Differential tests need root, network namespaces and
# iptables-legacy; elsewhere they skip with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-15s}"
go vet ./...
go test -count=1 $(go list ./... | grep -v '/kerneldiff$')
# The kernel comparisons, with their scoreboard (skipped without root).
if ! go test -count=1 -v ./kerneldiff > /tmp/nfgo-kerneldiff.log 2>&1; then
  grep -v '^=== RUN\|^    --- PASS\|^--- PASS' /tmp/nfgo-kerneldiff.log | tail -n 200
  exit 1
fi
sed -n '/kernel differential scoreboard/,$p' /tmp/nfgo-kerneldiff.log | grep -v '^ok\|^PASS' || true
# The concurrent parts under the race detector.
go test -count=1 -race ./netfilter ./conntrack ./ipset ./gateway ./tools/gateway
# The scoreboards: upstream .t vectors per file, and the differential
# comparison with the kernel per scenario (skipped without root).
go test -count=1 -run 'TestConformance$' -v ./tools/iptables | grep -E '^\s+(file|iptables\.t|libip|libxt|TOTAL)' || true
go test -count=1 -v ./difftest 2>&1 | sed -n '/differential scoreboard/,$p' | grep -v '^ok\|^PASS' || true
# Every fuzz target, briefly (go test -fuzz takes one target per run).
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $fz ($FUZZTIME)"
    if ! out=$(go test -run '^$' -fuzz "^${fz}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1); then
      # Go's fuzz coordinator sometimes gives up on a busy worker as the
      # time runs out ("context deadline exceeded", no failing input):
      # that run found nothing, so it is run once more.
      if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input' <<<"$out"; then
        echo "$out" | tail -n 3
        echo "fuzz $pkg $fz: the fuzzer timed out stopping its workers; once more"
        out=$(go test -run '^$' -fuzz "^${fz}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1) || { echo "$out" | tail -n 40; exit 1; }
      else
        echo "$out" | tail -n 40  # the failing input and its report
        exit 1
      fi
    fi
    echo "$out" | tail -n 3
  done
done
