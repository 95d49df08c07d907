#!/usr/bin/env bash
# Intake throughput and latency: `rampart serve` vs nginx answering 204, same requests, same run.
#
#   benches/intake.sh [DURATION_SECONDS] [CONNECTIONS]
#   RAMPART_BIN=PATH benches/intake.sh   (another build of rampart, for an A/B in one sitting)
#   DATABASE=postgres://postgres@127.0.0.1:5432/test benches/intake.sh   (the store on PostgreSQL;
#   the script makes a schema of its own there and drops it at the end)
#
# A realistic Chromium legacy report (~700 bytes) is POSTed by wrk (1 thread, on this machine)
# to each server in turn. For Rampart the script then checks that every request wrk counted was
# accepted and counted in /metrics (rampart_reports_accepted_total), i.e. "fully counted".
# Installs wrk and nginx from Debian if missing. Prints a Markdown table row per server.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNS="${2:-64}"
for tool in wrk nginx; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null
    fi
done
# RAMPART_BIN=path runs another build (e.g. an older commit's, for an A/B on the same machine).
BIN="${RAMPART_BIN:-./target/release/rampart}"
[ -n "${RAMPART_BIN:-}" ] || cargo build --release --quiet
WORK="$(mktemp -d)"
DB_URL="sqlite://$WORK/rampart.db"
SCHEMA=""
if [ -n "${DATABASE:-}" ]; then
    SCHEMA="rampart_bench_$$"
    psql "$DATABASE" -qc "CREATE SCHEMA $SCHEMA"
    DB_URL="$DATABASE?options=-c%20search_path%3D$SCHEMA"
fi
trap 'kill $(jobs -p) 2>/dev/null || true; nginx -c "$WORK/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$WORK"; [ -z "$SCHEMA" ] || PGOPTIONS=--client-min-messages=warning psql "$DATABASE" -qc "DROP SCHEMA $SCHEMA CASCADE"' EXIT

R_PORT=18480; N_PORT=18481
cat > "$WORK/rampart.toml" <<TOML
listen = "127.0.0.1:$R_PORT"
public_url = "http://127.0.0.1:$R_PORT"
database = "$DB_URL"
api_token = "bench"
[[sites]]
id = "shop"
key = "bench-key-0001"
origins = ["https://shop.example"]
TOML
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK;
    server {
        listen 127.0.0.1:$N_PORT;
        location / { client_max_body_size 64k; return 204; }
    }
}
NGINX
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/csp-report"
local n = 0
request = function()
  n = n + 1
  local body = '{"csp-report":{"document-uri":"https://shop.example/checkout/' .. (n % 50) ..
    '?session=abc123","referrer":"https://shop.example/cart","violated-directive":"script-src-elem",' ..
    '"effective-directive":"script-src-elem","original-policy":"script-src \'none\' \'report-sample\' ' ..
    '\'report-sha256\'; connect-src \'none\'; report-uri https://rampart.example/report/bench-key-0001",' ..
    '"disposition":"report","blocked-uri":"https://cdn' .. (n % 20) .. '.vendor.example/lib/v3/app.min.js?v=' .. n ..
    '","status-code":200,"script-sample":"","line-number":12,"column-number":5,' ..
    '"source-file":"https://shop.example/checkout"}}'
  return wrk.format(nil, nil, nil, body)
end
LUA

RAMPART_LOG=warn "$BIN" serve --config "$WORK/rampart.toml" &
nginx -c "$WORK/nginx.conf"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$R_PORT/healthz" >/dev/null && break; sleep 0.1; done

run() { # name url
    local out
    out="$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$2")"
    local rps p50 p99 total non2xx
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
    p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
    total="$(awk '/requests in/ {print $1}' <<<"$out")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
    echo "| $1 | $rps | $p50 | $p99 | $total | ${non2xx:-0} |"
    eval "${1//[^a-z]/_}_rps=$rps; ${1//[^a-z]/_}_total=$total"
}
echo "| server | requests/s | p50 | p99 | requests | non-2xx |"
echo "| --- | --- | --- | --- | --- | --- |"
run nginx "http://127.0.0.1:$N_PORT/report/bench-key-0001"
run rampart "http://127.0.0.1:$R_PORT/report/bench-key-0001"
sleep 1
accepted="$(curl -s "http://127.0.0.1:$R_PORT/metrics" | awk '/^rampart_reports_accepted_total/ {s+=$2} END {print s+0}')"
refused="$(curl -s "http://127.0.0.1:$R_PORT/metrics" | awk '/^rampart_reports_refused_total/ {s+=$2} END {print s+0}')"
flush_errors="$(curl -s "http://127.0.0.1:$R_PORT/metrics" | awk '/^rampart_flush_errors_total/ {s+=$2} END {print s+0}')"
stored="$(curl -s -H "Authorization: Bearer bench" "http://127.0.0.1:$R_PORT/api/v1/sites/shop/scripts" | python3 -c 'import json,sys; print(sum(s["reports"] for s in json.load(sys.stdin)["scripts"]))')"
rss="$(ps -o rss= -p "$(pgrep -f "rampart serve --config $WORK" | head -1)")"
echo
echo "rampart/nginx throughput ratio: $(awk -v a="$rampart_rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a/b}')"
echo "wrk completed $rampart_total requests; rampart counted accepted=$accepted refused=$refused; RSS ${rss} KiB"
echo "store ($DB_URL): script reports stored $stored; inventory flush errors $flush_errors"
