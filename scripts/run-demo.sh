#!/usr/bin/env bash
# The demo behind `make run`: metersim's demo scenario (9 areas, 458 meters, planted faults,
# a simulated day per minute) and the collector reading it on the simulator's clock. Ctrl-C
# stops both. Five areas are behind Q/GDW 1376.1 concentrators that dial the head-end's 376.1
# listener (127.0.0.1:9761) and log in ("terminal ... event=login" in the log; `headend terminal
# status`): D02, D06, D07, D08 read from the concentrators' daily freezes (AFN 0D), D09 by
# forwarding (AFN 10). D01 keeps a GPRS DTU, D03 an MQTT gateway,
# D04 Modbus TCP, D05 an RS-485 line.
set -euo pipefail
cd "$(dirname "$0")/.."
SIM_HTTP=${SIM_HTTP:-127.0.0.1:8090}
# The fleet runs 3 days before the head-end starts (06-04 00:00 simulated). A concentrator
# holds the freezes it has collected itself since it started (06-04 00:05), so D02, D06, D07
# and D08 balance from the start's day, once the next midnight's freezes are read (about 1.5
# minutes on). D09 reads the meters' own freezes by forwarding, and balances the days before
# the start within seconds (but a day whose first read came before the concentrator logged
# in: the head-end starts polling as the concentrators dial in). The 1997 and Modbus areas balance the start's day once the next midnight's round
# is read: D03, D04 about a day on, D01 and D05 (slow lines) the next morning. A start after
# 00:45 would bring D03/D04 under a day but lose D05's start-day boundary (its 1997 meters take
# 2 simulated hours to read).
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
    echo "loss dashboard: http://127.0.0.1:8080/#token=$(cat data/api-token)   (API token in data/api-token; D09's loss of the days before the start within seconds; the others' of the start's day after the first simulated midnight, 1 to 1.5 minutes)"
  fi
) &
./bin/headend serve --config configs/headend.yaml --follow "http://$SIM_HTTP"
