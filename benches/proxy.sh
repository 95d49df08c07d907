#!/usr/bin/env bash
# Reverse-proxy throughput and latency: a 100 KB HTML page fetched directly from the upstream
# (nginx), through `rampart proxy` (headers added on every response, inline scripts of every
# page read from the stream and inventoried), and — as the reference for what any reverse proxy
# costs on this machine — through nginx's own `proxy_pass` (keep-alive upstream, one worker per
# core like Rampart's tokio runtime); same machine, same run. Throughput is measured saturated
# (CONNECTIONS), latency also unloaded (one connection: what a proxy adds to one visitor's
# request when it is not queueing).
#
#   benches/proxy.sh [DURATION_SECONDS] [CONNECTIONS]      (BLOCK=true: blocking mode rewrites every page)
#   ROUNDS=N (default 5): each path is measured N times, interleaved; medians are reported
#   GZIP=true: the origin compresses the page (gzip level 1) and every client asks for gzip, so
#   the proxy scans (and with BLOCK=true decodes, rewrites and compresses again) gzip pages
#   RATES="1000 2000" (default; empty: skip): latency at a fixed request rate as well — open
#   load from `hey` (16 workers, each paced to RATE/16 requests/s), the way a site is loaded.
#   A saturated closed loop (wrk) measures queueing behind a full CPU, not what a hop adds.
#
# PROXY_WORKERS=N sets `[proxy] workers` (forwarding threads; default 0 = one per core);
# PROXY_THREADS=N runs the rest of Rampart on N tokio workers; RAMPART_ENV="K=V …" sets environment for the
# Rampart process only; HOLD=N keeps the servers up N seconds before measuring (to attach perf
# or strace).
#
# Installs wrk and nginx from Debian if missing. Prints a Markdown row per path and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNS="${2:-32}"
for tool in wrk nginx hey; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light hey >/dev/null
    fi
done
# RAMPART_BIN=path measures another build of rampart (A/B against an older commit) unbuilt.
RAMPART_BIN="${RAMPART_BIN:-}"
if [ -z "$RAMPART_BIN" ]; then
    cargo build --release --quiet
    RAMPART_BIN=./target/release/rampart
fi
WORK="$(mktemp -d)"
chmod 755 "$WORK"  # nginx workers read the page as an unprivileged user
trap 'kill $(jobs -p) 2>/dev/null || true; nginx -c "$WORK/nginx.conf" -s stop 2>/dev/null || true; nginx -c "$WORK/nginx-proxy.conf" -s stop 2>/dev/null || true; rm -rf "$WORK"' EXIT
R_PORT=18490; P_PORT=18491; N_PORT=18492; NP_PORT=18493

# A 100 KB checkout page: markup, three inline scripts, external scripts.
python3 - "$WORK/www/checkout.html" <<'PY'
import sys, os
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
rows = "".join(f'<tr><td class="sku">SKU-{i:05d}</td><td>Item {i} with a longer description</td><td>€{i % 97}.99</td></tr>\n' for i in range(1200))
page = ('<!doctype html><html><head><title>Checkout</title>'
        '<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag("js",new Date());</script>'
        '<script src="https://cdn.shop.example/app.js"></script></head><body><table>' + rows +
        '</table><script>document.getElementById("pay").addEventListener("submit",function(){});</script>'
        '<script>window.checkoutConfig={currency:"EUR",steps:["cart","address","payment"]};</script></body></html>')
page = page[:100_000] if len(page) > 100_000 else page + "<!--" + "x" * (100_000 - len(page) - 7) + "-->"
open(sys.argv[1], "w").write(page)
PY
# A blocklist (nothing on the page is listed): with BLOCK=true every page is really rewritten.
printf 'skimmer-cdn.example.net\n0.0.0.0 collect.evil.example.net\n' > "$WORK/blocklist.txt"
# Requests look like page navigations; with GZIP=true they accept gzip and the origin sends it.
GZIP_ON=off; REQUEST_HEADERS=(-H "Accept: text/html,*/*;q=0.8"); CURL_COMPRESSED=()
if [ "${GZIP:-false}" = true ]; then
    GZIP_ON=on; REQUEST_HEADERS+=(-H "Accept-Encoding: gzip"); CURL_COMPRESSED=(--compressed)
fi
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    types { text/html html; }
    keepalive_requests 1000000;
    gzip $GZIP_ON; gzip_types text/html; gzip_comp_level 1; gzip_min_length 0;
    server {
        listen 127.0.0.1:$N_PORT;
        root $WORK/www;
    }
}
NGINX
cat > "$WORK/nginx-proxy.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx-proxy.pid;
error_log $WORK/nginx-proxy-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    upstream origin { server 127.0.0.1:$N_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$NP_PORT;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The page fits in memory buffers (nginx's fastest setting; the default would
            # spill a 100 KB response to a temporary file).
            proxy_buffer_size 16k;
            proxy_buffers 16 16k;
        }
    }
}
NGINX
cat > "$WORK/rampart.toml" <<TOML
listen = "127.0.0.1:$R_PORT"
public_url = "https://rampart.shop.example"
database = "sqlite://$WORK/rampart.db"
api_token = "bench"
[[sites]]
id = "shop"
key = "bench-key-0001"
origins = ["https://shop.example"]
[intel]
blocklists = [{ path = "$WORK/blocklist.txt", category = "magecart" }]
[proxy]
listen = "127.0.0.1:$P_PORT"
upstream = "http://127.0.0.1:$N_PORT"
max_inline_html_bytes = ${INLINE_BYTES:-2097152}
block = ${BLOCK:-false}
${PROXY_WORKERS:+workers = $PROXY_WORKERS}
TOML
nginx -c "$WORK/nginx.conf"
nginx -c "$WORK/nginx-proxy.conf"
env ${PROXY_THREADS:+TOKIO_WORKER_THREADS=$PROXY_THREADS} ${RAMPART_ENV:-} RAMPART_LOG=warn "$RAMPART_BIN" serve --config "$WORK/rampart.toml" &
RAMPART_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$R_PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -s "${CURL_COMPRESSED[@]}" "${REQUEST_HEADERS[@]}" "http://127.0.0.1:$P_PORT/checkout.html" -o "$WORK/proxied.html"
cmp "$WORK/proxied.html" "$WORK/www/checkout.html" || { echo "proxied body differs" >&2; head -c 300 "$WORK/proxied.html" >&2; exit 1; }

# The processes serving a URL's port: Rampart, or an nginx instance's workers.
pids_of() {
    case "$1" in
        *":$P_PORT/"*) echo "$RAMPART_PID" ;;
        *":$NP_PORT/"*) pgrep -P "$(cat "$WORK/nginx-proxy.pid")" ;;
        *) pgrep -P "$(cat "$WORK/nginx.pid")" ;;
    esac
}
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# CPU time the serving process spent per request: on a machine whose speed drifts, the
# steadiest measure of what one proxy costs against another.
run() { # url connections → one "rps p50 p99 cpu-us-per-request" line
    local out pids t0 t1
    pids="$(pids_of "$1")"
    # shellcheck disable=SC2086
    t0="$(cpu_ticks $pids)"
    out="$(wrk -t1 -c"$2" -d"${DURATION}s" --latency "${REQUEST_HEADERS[@]}" "$1")"
    # shellcheck disable=SC2086
    t1="$(cpu_ticks $pids)"
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="50%" {print $2}' <<<"$out") $(awk '$1=="99%" {print $2}' <<<"$out") $(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '/requests in/ {printf "%.1f", t * 1e6 / hz / $1}' <<<"$out")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] + 0 : (v[NR/2] + v[NR/2+1]) / 2}'; }
[ -n "${HOLD:-}" ] && { echo "ready $R_PORT $P_PORT $N_PORT $NP_PORT"; sleep "$HOLD"; }
# The paths are measured in turn, ROUNDS times, and each path's median is reported: on a shared
# 2-core machine the load drifts over a minute, and one row per path would compare different
# minutes as much as different paths.
ROUNDS="${ROUNDS:-5}"
# rounds ROWS MEASURE ARG: ROUNDS times, each path in turn, MEASURE URL ARG appended to
# ROWS[path_ARG].
rounds() {
    local -n into="$1"
    for _ in $(seq "$ROUNDS"); do
        into[direct_$3]+="$("$2" "http://127.0.0.1:$N_PORT/checkout.html" "$3")"$'\n'
        into[rampart_$3]+="$("$2" "http://127.0.0.1:$P_PORT/checkout.html" "$3")"$'\n'
        into[nginx_proxy_$3]+="$("$2" "http://127.0.0.1:$NP_PORT/checkout.html" "$3")"$'\n'
    done
}
declare -A rows
for c in "$CONNS" 1; do
    rounds rows run "$c"
done
echo "Median of $ROUNDS interleaved rounds of ${DURATION} s per path:"
echo
echo "| path | connections | requests/s | p50 | p99 | CPU per request (serving process) | requests/s of each round |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for c in "$CONNS" 1; do
    for path in direct rampart nginx_proxy; do
        r="${rows[${path}_$c]}"
        rps="$(awk 'NF {print $1}' <<<"$r" | median)"
        echo "| $path | $c | $rps | $(awk 'NF {print $2}' <<<"$r" | sed 's/us$/e-3/; s/ms$//' | median) ms | $(awk 'NF {print $3}' <<<"$r" | sed 's/us$/e-3/; s/ms$//' | median) ms | $(awk 'NF {print $4}' <<<"$r" | median) µs | $(awk 'NF {printf "%s ", $1}' <<<"$r") |"
        eval "${path}_${c}_rps=$rps"
    done
done
echo
eval "d=\$direct_${CONNS}_rps r=\$rampart_${CONNS}_rps n=\$nginx_proxy_${CONNS}_rps"
echo "rampart/direct throughput ratio ($CONNS connections): $(ratio "$r" "$d")"
echo "nginx proxy_pass/direct throughput ratio ($CONNS connections): $(ratio "$n" "$d")"
echo "rampart/nginx proxy_pass throughput ratio ($CONNS connections): $(ratio "$r" "$n")"
RATES="${RATES-1000 2000}"
if [ -n "$RATES" ]; then
    # hey prints "  99% in 0.0012 secs"; its rate flag is per worker.
    fixed() { # url rate → "achieved-rps p50-ms p99-ms"
        local out
        out="$(hey -z "${DURATION}s" -c 16 -q "$(($2 / 16))" -disable-compression "${REQUEST_HEADERS[@]}" "$1")"
        grep -q '\[200\]' <<<"$out" || { echo "hey got no 200s from $1" >&2; exit 1; }
        echo "$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out") $(awk '$1=="50%" {printf "%.3f", $3*1000}' <<<"$out") $(awk '$1=="99%" {printf "%.3f", $3*1000}' <<<"$out")"
    }
    declare -A fixed_rows
    for rate in $RATES; do
        rounds fixed_rows fixed "$rate"
    done
    echo
    echo "Fixed request rate (hey, 16 workers), median of $ROUNDS interleaved rounds of ${DURATION} s:"
    echo
    echo "| path | offered requests/s | achieved | p50 | p99 | added p99 vs direct |"
    echo "| --- | --- | --- | --- | --- | --- |"
    for rate in $RATES; do
        d99="$(awk 'NF {print $3}' <<<"${fixed_rows[direct_$rate]}" | median)"
        for path in direct rampart nginx_proxy; do
            r="${fixed_rows[${path}_$rate]}"
            p99="$(awk 'NF {print $3}' <<<"$r" | median)"
            echo "| $path | $rate | $(awk 'NF {print $1}' <<<"$r" | median) | $(awk 'NF {print $2}' <<<"$r" | median) ms | $p99 ms | $(awk -v a="$p99" -v b="$d99" 'BEGIN {printf "%+.2f ms", a-b}') |"
        done
    done
fi
inline="$(curl -s "http://127.0.0.1:$R_PORT/metrics" | awk '/^rampart_proxy_inline_scripts_total/ {s+=$2} END {print s+0}')"
echo "inline scripts read from proxied pages: $inline"
