#!/usr/bin/env bash
# matrix.sh — the throughput matrix of docs/PERFORMANCE.md for one binary:
# production (MariaDB 2 × 4 + Redis + RabbitMQ) and embedded mode, 16 and 64
# connections, bigmarket loadtest and wrk, with the CPU each process used and
# the machine's context switches, per draw.
#
#   go build -o /tmp/perf/bigmarket ./cmd/bigmarket
#   deploy/bench/matrix.sh /tmp/perf/bigmarket [mode ...]
#
# modes: production embedded (default both). DURATION (default 15s) and CONNS
# (default "16 64") override the run length and the connection counts; GENS
# (default "loadtest wrk") the generators. FRESH=1 starts every run on a
# server of its own with fresh databases or data directory (without it, the
# runs of a mode share one server, and each later run finds the database the
# earlier ones grew). MYSQL_ADDR (default 127.0.0.1:3306) names the MariaDB
# server, as host:port, user root without a password. Needs the services of the README
# on loopback, wrk (apt-get install wrk), the mariadb client and rabbitmqctl.
# Every run uses fresh databases, a fresh Redis prefix, a fresh RabbitMQ vhost
# and a fresh data directory, and drops them at the end (a wrk run ends with
# deliveries still queued: in a shared vhost the next run's server would
# consume them).
set -euo pipefail

bin=${1:?usage: matrix.sh BINARY [production|embedded ...]}
shift
modes=${*:-production embedded}
duration=${DURATION:-15s}
conns=${CONNS:-16 64}
gens=${GENS:-loadtest wrk}
fresh=${FRESH:-}
maddr=${MYSQL_ADDR:-127.0.0.1:3306}
here=$(cd "$(dirname "$0")" && pwd)
base=bm$(date +%s)$$
runs=0
tag=$base
work=$(mktemp -d /tmp/bmbench.XXXXXX)
pid=

# stop_server stops the server and drops what its run created (databases,
# Redis keys under its prefix, RabbitMQ vhost, data directory).
stop_server() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  pid=
  for d in cfg s0 s1; do mariadb -uroot -h"${maddr%:*}" -P"${maddr#*:}" -e "DROP DATABASE IF EXISTS ${tag}_$d" 2>/dev/null || true; done
  redis-cli --scan --pattern "${tag}:*" 2>/dev/null | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
  rabbitmqctl -q delete_vhost "$tag" >/dev/null 2>&1 || true
  rm -rf "$work/emb-$tag"
}

cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# cpu prints the CPU seconds (user+system) used so far by each process named,
# and the machine's context switches so far.
cpu() {
  printf 'ctx_switches=%s ' "$(awk '/^ctxt/{print $2}' /proc/stat)"
  for n in mariadbd beam.smp redis-server "$(basename "$bin")"; do
    t=0
    for p in $(pgrep -x "$n" || true); do
      s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null || echo "0 0")
      t=$((t + ${s% *} + ${s#* }))
    done
    printf 'cpu_%s=%s ' "$n" "$t"
  done
}

# mstat prints MariaDB's global counters of statements (Questions counts each
# statement of a multi-statement request), transactions and row operations.
mstat() {
  mariadb -uroot -h"${maddr%:*}" -P"${maddr#*:}" -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN
    ('Questions','Com_commit','Com_insert','Com_update','Com_update_multi','Com_select','Handler_commit',
     'Created_tmp_tables','Handler_write','Handler_update')" 2>/dev/null |
    awk '{printf "%s=%s ", $1, $2}'
}

wait_up() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$1/api/v1/raffle/activity/query_activity_list" 2>/dev/null && return 0
    curl -fsS -o /dev/null "http://$1/" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "server at $1 did not start" >&2
  return 1
}

# start_server starts a server of mode on fresh databases (or a fresh data
# directory), its wrk users granted; it sets addr.
start_server() {
  local mode=$1
  runs=$((runs + 1))
  tag=${base}r$runs
  if [ "$mode" = production ]; then
    addr=127.0.0.1:18300
    for d in cfg s0 s1; do mariadb -uroot -h"${maddr%:*}" -P"${maddr#*:}" -e "CREATE DATABASE ${tag}_$d"; done
    rabbitmqctl -q add_vhost "$tag" >/dev/null
    rabbitmqctl -q set_permissions -p "$tag" guest '.*' '.*' '.*' >/dev/null
    export BIGMARKET_DB_DRIVER=mysql \
      BIGMARKET_MYSQL_CONFIG_DSN="root@tcp($maddr)/${tag}_cfg" \
      BIGMARKET_MYSQL_SHARD_DSNS="root@tcp($maddr)/${tag}_s0,root@tcp($maddr)/${tag}_s1" \
      BIGMARKET_MYSQL_TABLES_PER_SHARD=4 BIGMARKET_REDIS_ADDRS=127.0.0.1:6379 BIGMARKET_REDIS_PREFIX="${tag}:" \
      BIGMARKET_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/$tag"
    "$bin" migrate >/dev/null
    "$bin" campaign apply "$here/../../internal/campaign/demo.yaml" >/dev/null
  else
    addr=127.0.0.1:18400
    unset BIGMARKET_DB_DRIVER BIGMARKET_MYSQL_CONFIG_DSN BIGMARKET_MYSQL_SHARD_DSNS BIGMARKET_MYSQL_TABLES_PER_SHARD \
      BIGMARKET_REDIS_ADDRS BIGMARKET_REDIS_PREFIX BIGMARKET_AMQP_URL
    export BIGMARKET_DATA_DIR="$work/emb-$tag" BIGMARKET_DEMO=true
  fi
  export BIGMARKET_ADDR=$addr BIGMARKET_ADMIN_TOKEN=adm BIGMARKET_LOG_LEVEL=warn
  "$bin" serve >"$work/$mode-$tag.log" 2>&1 &
  pid=$!
  wait_up "$addr"
  "$bin" loadtest --url "http://$addr" --admin-token adm --users 10000 --prefix wrk- --requests 1 \
    --grant 100000 --check-stock=false --delivery-wait=-1s >/dev/null
}

run_mode() {
  local mode=$1 addr
  [ -z "$fresh" ] && start_server "$mode"
  for c in $conns; do
    for g in $gens; do
      [ -n "$fresh" ] && start_server "$mode"
      local before after load
      load=$(cut -d' ' -f1 /proc/loadavg)
      before=$(cpu)
      mbefore=$(mstat)
      if [ "$g" = wrk ]; then
        out=$(wrk -t2 -c"$c" -d"$duration" --latency -s "$here/draw.lua" "http://$addr")
        rate=$(echo "$out" | sed -n 's/^draws answered 0000: [0-9]* (\([0-9.]*\)\/s).*/\1/p')
        p50=$(echo "$out" | sed -n 's/^latency p50 \([0-9.]* ms\).*/\1/p')
        p99=$(echo "$out" | sed -n 's/^latency p50 .* p99 \([0-9.]* ms\).*/\1/p')
        lag=$(echo "$out" | sed -n 's/.*other answers: \([0-9]*\)/other=\1/p')
      else
        out=$("$bin" loadtest --url "http://$addr" --admin-token adm --duration "$duration" --concurrency "$c" 2>&1 || true)
        rate=$(echo "$out" | sed -n 's/^successful draws *[0-9]* *\([0-9.]*\)\/s.*/\1/p')
        p50=$(echo "$out" | sed -n 's/^latency *p50 \([^ ]*\) .*/\1/p')
        p99=$(echo "$out" | sed -n 's/^latency .* p99 \([^ ]*\) .*/\1/p')
        lag="$(echo "$out" | sed -n 's/^delivery *//p' | tr -s ' '); $(echo "$out" | grep '^stock check')"
      fi
      after=$(cpu)
      mafter=$(mstat)
      printf '%-10s c=%-3s %-8s load=%-5s rate=%s p50=%s p99=%s cpu_before[%s] cpu_after[%s] %s\n' \
        "$mode" "$c" "$g" "$load" "$rate" "$p50" "$p99" "$before" "$after" "$lag"
      draws=$(awk -v r="$rate" -v d="${duration%s}" 'BEGIN{printf "%d", r*d}')
      # per draw: CPU ms of each process (ticks of 10 ms), the machine's context
      # switches, MariaDB's statement and row counters
      awk -v b="$before $mbefore" -v a="$after $mafter" -v n="$draws" 'BEGIN{
        split(b, bs, " "); split(a, as, " ");
        for (i in bs) { split(bs[i], kv, "="); B[kv[1]] = kv[2] }
        for (i in as) { split(as[i], kv, "="); A[kv[1]] = kv[2] }
        if (n == 0) exit
        printf "  per draw:"
        for (k in A) {
          d = A[k] - B[k]
          if (k ~ /^cpu_/) printf " %s %.2f ms", k, d * 10 / n
          else printf " %s %.2f", k, d / n
        }
        printf "\n"
      }'

      echo "$out" >"$work/$mode-$c-$g.out"
      [ -n "${KEEP_OUTPUT:-}" ] && cp "$work/$mode-$c-$g.out" "$KEEP_OUTPUT/" || true
      [ -n "$fresh" ] && stop_server
    done
  done
  [ -z "$fresh" ] && stop_server
  return 0
}

for m in $modes; do run_mode "$m"; done
