#!/usr/bin/env bash
# The demo behind `make run`: metersim's demo scenario (5 areas, 331 meters,
# one area per access path, planted faults, a simulated day per minute) and
# the collector reading it on the simulator's clock. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
SIM_HTTP=${SIM_HTTP:-127.0.0.1:8090}

./bin/metersim --scenario testdata/scenarios/demo.yaml --warmup 72h --http "$SIM_HTTP" 2> >(sed 's/^/metersim: /' >&2) &
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
    echo "loss dashboard: http://127.0.0.1:8080/#token=$(cat data/api-token)   (API token in data/api-token; D02's loss within a minute, every area's after the first simulated midnight, about 2 minutes)"
  fi
) &
./bin/headend serve --config configs/headend.yaml --follow "http://$SIM_HTTP"
