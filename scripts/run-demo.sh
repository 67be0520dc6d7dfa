#!/usr/bin/env bash
# The demo behind `make run`: metersim's demo scenario (5 areas, 331 meters,
# one area per access path, planted faults, a simulated day per minute) and
# the collector reading it on the simulator's clock. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
SIM_HTTP=${SIM_HTTP:-127.0.0.1:8090}
# The fleet runs 3.5 days before the head-end starts, which it does at 06-04 01:30 simulated:
# after the daily read's time, but within the balance's 3 h of midnight, so it reads the meters
# that keep no freezes at once and the start's own day (06-04) balances at 06-05, under a
# simulated day on. Started at 00:00 that day ended a whole day after the start, and the areas
# with too few freezes for the days before (all but D02) balanced 25-36 simulated hours on.

./bin/metersim --scenario testdata/scenarios/demo.yaml --warmup 73h30m --http "$SIM_HTTP" 2> >(sed 's/^/metersim: /' >&2) &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null' EXIT INT TERM

# wait for the simulator to listen (at most 10 s)
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/${SIM_HTTP%:*}/${SIM_HTTP#*:}") 2>/dev/null; then break; fi
  sleep 0.1
done
kill -0 $sim 2>/dev/null || { echo "metersim did not start" >&2; exit 1; }

echo "collector status: http://127.0.0.1:8080/status   ground truth: http://$SIM_HTTP/truth"
# headend makes an admin token for the demo (the configuration names none)
# and keeps it in data/api-token; the dashboard link carries it
rm -f data/api-token
(
  for _ in $(seq 1 300); do [ -s data/api-token ] && break; sleep 0.1; done
  if [ -s data/api-token ]; then
    echo "loss dashboard: http://127.0.0.1:8080/#token=$(cat data/api-token)   (API token in data/api-token; D02's loss of the days before the start within seconds, D03's and D04's of the start's day after the first simulated midnight, about a minute; D01 and D05, slow lines, take their next morning)"
  fi
) &
./bin/headend serve --config configs/headend.yaml --follow "http://$SIM_HTTP"
