#!/usr/bin/env bash
# Runs every go test fuzz target in the module for $FUZZTIME each, so a new
# Fuzz function is fuzzed in `make test` without anyone listing it.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3s}
# How long a failing or newly interesting input is minimised. A short run
# (make test) does not minimise: Go reports "context deadline exceeded" as
# a failure when minimising outlasts -fuzztime. make fuzz keeps Go's default.
FUZZMINIMIZE=${FUZZMINIMIZE:-60s}
GO=${GO:-go}
fail=0
count=0
# inputs counts the saved inputs of a target (0 when it has none)
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  for target in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    count=$((count + 1))
    echo "fuzz $pkg $target ($FUZZTIME)"
    run() { $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZE" "$pkg" >/tmp/fuzz-$$.log 2>&1; }
    before=$(inputs "$dir/testdata/fuzz/$target")
    if ! run; then
      after=$(inputs "$dir/testdata/fuzz/$target")
      if [ "$after" = "$before" ]; then
        # a crash always leaves its input in testdata/fuzz; a failure that
        # left none is Go's engine stopping a worker at the deadline
        cat /tmp/fuzz-$$.log
        echo "fuzz $pkg $target failed without a failing input: running it again"
        if run; then continue; fi
      fi
      cat /tmp/fuzz-$$.log
      echo "FAIL fuzz $pkg $target: the failing input is under $dir/testdata/fuzz/$target"
      fail=1
    fi
  done
done
rm -f /tmp/fuzz-$$.log
echo "fuzzed $count targets"
exit $fail
