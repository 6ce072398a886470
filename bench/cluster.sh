# bench/cluster.sh: sourced by bench/run for `--only cluster` (issue 15). The full default
# flow's call rate with the store in SQLite (one node), in PostgreSQL (one node), and in
# PostgreSQL shared by two nodes behind Kamailio (deploy/kamailio/kamailio.cfg), in one
# run; then the queue's routing delay (`measure_routing`) and a new node's replay of the
# shared queue's log (`measure_replay`). Per step: calls completed and failed, CPU per call of ringdesk (all nodes),
# PostgreSQL and Kamailio, PostgreSQL statements, transactions and statement time per
# call (pg_stat_statements). PostgreSQL is a private cluster in $OUT/pg (fsync on, as in
# production), Kamailio runs the shipped config with the bench's addresses.

PG_PORT=35432 KAM_PORT=35064 SIP_PORT2=35062 ADMIN_PORT2=38091
PG_DIR=$OUT/pg PG_BIN="" KAM_PID="" PG_RUNNING=0 RD2_PID=""
CLUSTER_STEPS=${CLUSTER_STEPS:-$([ "$QUICK" = 1 ] && echo "10 20" || echo "25 50 100 150 200")}
CLUSTER_ARRIVE=$([ "$QUICK" = 1 ] && echo 10 || echo 20)

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_pg() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/postgres" ] || { say "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"
  echo "bench-only-password" >"$PG_DIR/pw"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DIR"
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U ringdesk --auth=scram-sha-256 \
    --pwfile="$PG_DIR/pw" -E UTF8 >>"$LOG" 2>&1
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c max_connections=100" \
    start >>"$LOG" 2>&1
  PG_RUNNING=1
  pg_sql postgres "CREATE DATABASE ringdesk" >/dev/null
  pg_sql ringdesk "CREATE EXTENSION pg_stat_statements" >/dev/null
}
stop_pg() {
  [ "$PG_RUNNING" = 1 ] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >>"$LOG" 2>&1 || true
  PG_RUNNING=0
}
pg_sql() { # database sql
  PGPASSWORD=bench-only-password psql -h 127.0.0.1 -p $PG_PORT -U ringdesk -d "$1" -At -v ON_ERROR_STOP=1 -c "$2"
}
# PostgreSQL's CPU ticks: the postmaster, its live children, and its exited children.
pg_cpu_ticks() {
  local pm; pm=$(head -1 "$PG_DIR/data/postmaster.pid")
  { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pm/stat"
    for c in $(pgrep -P "$pm"); do cpu_ticks "$c" 2>/dev/null || true; done; } | awk '{ s += $1 } END { print s + 0 }'
}
kam_cpu_ticks() {
  [ -n "$KAM_PID" ] || { echo 0; return; }
  { cpu_ticks "$KAM_PID"; for c in $(pgrep -P "$KAM_PID"); do cpu_ticks "$c" 2>/dev/null || true; done; } | awk '{ s += $1 } END { print s + 0 }'
}

# A node's config: file, SIP port, admin port, node name ("" for SQLite), [base config].
node_config() {
  local file=$1 sip=$2 admin=$3 node=$4 base=${5:-ringdesk.toml} store
  if [ -n "$node" ]; then
    store="url = \"postgres://ringdesk@127.0.0.1:$PG_PORT/ringdesk\"
password = \"bench-only-password\"
node = \"$node\""
  else
    store="path = \"$OUT/ringdesk.sqlite\""
  fi
  sed -e "s/^listen = \"127.0.0.1:$SIP_PORT\"/listen = \"127.0.0.1:$sip\"/" \
      -e "s/^listen = \"127.0.0.1:$ADMIN_PORT\"/listen = \"127.0.0.1:$admin\"/" \
      -e "/^\[store\]/,/^path = /d" "$OUT/$base" >"$OUT/$file"
  printf '[store]\n%s\n' "$store" >>"$OUT/$file"
}

start_node2() {
  RUST_LOG=${BENCH_RUST_LOG:-warn} "$BIN" serve --config "$OUT/node-b.toml" >>"$OUT/ringdesk-b.log" 2>&1 &
  RD2_PID=$!
  wait_port udp $SIP_PORT2 30
  wait_port tcp $ADMIN_PORT2 30
}
stop_node2() {
  [ -n "$RD2_PID" ] || return 0
  kill "$RD2_PID" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$RD2_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$RD2_PID" 2>/dev/null || true
  wait "$RD2_PID" 2>/dev/null || true
  RD2_PID=""
}

start_kamailio() {
  mkdir -p "$OUT/kamailio"
  printf '1 sip:127.0.0.1:%s 0 0\n1 sip:127.0.0.1:%s 0 0\n' $SIP_PORT $SIP_PORT2 >"$OUT/kamailio/dispatcher.list"
  kamailio -f deploy/kamailio/kamailio.cfg -DD -E -Y "$OUT/kamailio" -P "$OUT/kamailio/kamailio.pid" \
    -A "LISTEN_UDP=udp:127.0.0.1:$KAM_PORT" -A "LISTEN_TCP=tcp:127.0.0.1:$KAM_PORT" \
    -A "DISPATCHER_LIST=\"$OUT/kamailio/dispatcher.list\"" -A "CHILDREN=4" -A "LOG_LEVEL=1" \
    >>"$OUT/kamailio.log" 2>&1 &
  KAM_PID=$!
  wait_port udp $KAM_PORT 20
}
stop_kamailio() {
  [ -n "$KAM_PID" ] || return 0
  kill "$KAM_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$KAM_PID" 2>/dev/null || break; sleep 0.1; done
  pkill -9 -P "$KAM_PID" 2>/dev/null || true
  kill -9 "$KAM_PID" 2>/dev/null || true
  wait "$KAM_PID" 2>/dev/null || true
  KAM_PID=""
}
cluster_cleanup() { stop_kamailio; stop_node2; stop_pg; }

# One setup's rate steps: setup name, SIP target, scenario.
cluster_rates() {
  local setup=$1 target=$2 scenario=$3 r
  local saved_target=${SIPP_TARGET:-} saved_scenario=$RATE_SCENARIO
  SIPP_TARGET=$target RATE_SCENARIO=$scenario
  read -r ok failed refused < <(sipp_run 7 7 "cluster-$setup-warmup")
  say "cluster $setup warm-up: $ok ok, $failed failed"
  for r in $CLUSTER_STEPS; do
    local calls=$((r * CLUSTER_ARRIVE)) rd0 rd1 pg0=0 pg1=0 k0 k1 st0="0 0" st1="0 0" x0=0 x1=0
    rd0=$(( $(cpu_ticks "$RD_PID") + ${RD2_PID:+$(cpu_ticks "$RD2_PID")}+0 ))
    k0=$(kam_cpu_ticks)
    if [ "$setup" != sqlite ]; then
      pg0=$(pg_cpu_ticks); pg_sql ringdesk "SELECT pg_stat_statements_reset()" >/dev/null
      x0=$(pg_sql ringdesk "SELECT xact_commit FROM pg_stat_database WHERE datname = 'ringdesk'")
    fi
    read -r ok failed refused < <(sipp_run "$r" "$calls" "cluster-$setup-$r")
    # The notes of the last calls: let the outbox finish before reading the counters.
    sleep 3
    rd1=$(( $(cpu_ticks "$RD_PID") + ${RD2_PID:+$(cpu_ticks "$RD2_PID")}+0 ))
    k1=$(kam_cpu_ticks)
    if [ "$setup" != sqlite ]; then
      pg1=$(pg_cpu_ticks)
      st1=$(pg_sql ringdesk "SELECT COALESCE(sum(calls), 0), COALESCE(round(sum(total_exec_time)::numeric, 1), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'" | tr '|' ' ')
      x1=$(pg_sql ringdesk "SELECT xact_commit FROM pg_stat_database WHERE datname = 'ringdesk'")
    fi
    local per; per=$(awk -v n="$ok" -v t="$CLK_TCK" -v rd=$((rd1 - rd0)) -v pg=$((pg1 - pg0)) -v k=$((k1 - k0)) \
      -v st="$st1" -v x=$((x1 - x0)) 'BEGIN { split(st, s, " "); if (n > 0) printf "%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%.2f", rd*1000/t/n, pg*1000/t/n, k*1000/t/n, s[1]/n, x/n, s[2]/n; else print "n/a\tn/a\tn/a\tn/a\tn/a\tn/a" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$setup" "$r" "$calls" "$ok" "$failed" "$per" >>"$OUT/cluster.tsv"
    say "cluster $setup $r/s: $ok ok, $failed failed of $calls; CPU ms/call ringdesk, postgres, kamailio; statements, transactions, statement ms per call: $per"
    if [ "$failed" != 0 ] || [ "$ok" != "$calls" ]; then break; fi
  done
  SIPP_TARGET=$saved_target RATE_SCENARIO=$saved_scenario
}

# ---- the queue's routing delay: one node (SQLite, PostgreSQL) and two ------------------
# Callers press 1 and are offered to free agents (ROUTE_AGENTS, all answered by one SIPp
# UAS, 2 s of talk, no wrap-up): the delay from a call asking for the queue to its offer
# being rung is each node's `ringdesk_queue_offer_delay_seconds` histogram, read before and
# after. With two nodes, half the callers and half the agents go to each node directly.
ROUTE_RATE=$([ "$QUICK" = 1 ] && echo 6 || echo 10) ROUTE_SECS=$([ "$QUICK" = 1 ] && echo 10 || echo 30)
ROUTE_AGENTS=60 ROUTE_TOKEN=bench-read-token-0123456789abcdef0123456789

route_config() { # file, SIP port, admin port, node name ("" for SQLite)
  bridge_config $ROUTE_AGENTS
  node_config "$1" "$2" "$3" "$4" ringdesk-bridge.toml
  printf '\n[[admin.tokens]]\nname = "bench"\nrole = "read"\ntoken = "%s"\n' "$ROUTE_TOKEN" >>"$OUT/$1"
}

# The histogram's buckets of a node: "le count" lines.
offer_buckets() { # admin port
  curl -sf --max-time 5 -H "Authorization: Bearer $ROUTE_TOKEN" "http://127.0.0.1:$1/metrics" |
    awk '/^ringdesk_queue_offer_delay_seconds_bucket/ { sub(/.*le="/, ""); sub(/"}/, ""); print }'
}

# p50 and p99 in ms (linear within a bucket) and the count, from "le before after" lines
# summed over nodes.
offer_quantiles() {
  awk '{ le[NR] = $1; n[NR] = $3 - $2 } END {
    total = n[NR]; if (total <= 0) { print "n/a n/a 0"; exit }
    split("0.5 0.99", qs, " ")
    for (k = 1; k <= 2; k++) {
      want = qs[k] * total; lo = 0; prev = 0
      for (i = 1; i <= NR; i++) {
        if (n[i] >= want) { hi = (le[i] == "+Inf") ? lo : le[i]; f = (n[i] > prev) ? (want - prev) / (n[i] - prev) : 1
          out[k] = sprintf("%.2f", (lo + (hi - lo) * f) * 1000); break }
        prev = n[i]; lo = le[i]
      }
    }
    print out[1], out[2], total }'
}

# One routing run: setup name, then "admin-port:sip-port" of each node the callers go to.
route_run() {
  local setup=$1; shift
  local node before=() after=() pids=() i=0 calls per
  for node in "$@"; do before+=("$(offer_buckets "${node%%:*}")"); done
  per=$((ROUTE_RATE / $#)); [ "$per" -lt 1 ] && per=1
  calls=$((per * ROUTE_SECS))
  for node in "$@"; do
    ( SIPP_TARGET="127.0.0.1:${node##*:}" SIPP_PORT=$((SIPP_PORT + 2 * i)) SIPP_MP=$((SIPP_MP + 1000 * i)) \
        sipp_bridge_run "$per" "$calls" "route-$setup-$i" >"$OUT/route-$setup-$i.result" ) &
    pids+=($!); i=$((i + 1))
  done
  for p in "${pids[@]}"; do wait "$p"; done
  sleep 2
  i=0
  for node in "$@"; do after+=("$(offer_buckets "${node%%:*}")"); done
  local ok=0 failed=0 r
  for ((i = 0; i < $#; i++)); do read -r a b <"$OUT/route-$setup-$i.result"; ok=$((ok + a)); failed=$((failed + b)); done
  # Sum the nodes' buckets (same bounds in the same order).
  local q; q=$(paste -d' ' <(for b in "${before[@]}"; do echo "$b"; done | awk '{ s[$1] += $2; o[NR] = $1 } END { for (i = 1; i <= NR; i++) if (!(o[i] in seen)) { seen[o[i]]; print o[i], s[o[i]] } }') \
                        <(for b in "${after[@]}"; do echo "$b"; done | awk '{ s[$1] += $2; o[NR] = $1 } END { for (i = 1; i <= NR; i++) if (!(o[i] in seen)) { seen[o[i]]; print s[o[i]] } }') | offer_quantiles)
  printf '%s\t%s\t%s\t%s\t%s\n' "$setup" "$((per * $#))" "$ok" "$failed" "$(echo "$q" | tr ' ' '\t')" >>"$OUT/routing.tsv"
  say "routing $setup: $ok ok, $failed failed; offer delay p50, p99 ms, offers: $q"
}

measure_routing() {
  : >"$OUT/routing.tsv"
  BRIDGE_CALL_TALK_S=2
  sed "s/TALK_MS/2000/" bench/sipp/press-1-bridge-rate.xml >"$OUT/press-1-bridge-rate.xml"
  say "routing: ${ROUTE_RATE} calls/s for ${ROUTE_SECS} s per setup, $ROUTE_AGENTS free agents"
  local setup file node
  for setup in sqlite postgres; do
    node=""; [ "$setup" = postgres ] && node=node-a
    route_config "route-$setup.toml" $SIP_PORT $ADMIN_PORT "$node"
    start_ringdesk "route-$setup.toml"
    start_agents 100000 $((ROUTE_SECS + 200)) "route-$setup-agents"
    read -r rok rfailed < <(register_agents $ROUTE_AGENTS "route-$setup-register")
    say "routing $setup: $rok agents registered, $rfailed failed"
    route_run "$setup" "$ADMIN_PORT:$SIP_PORT"
    stop_agents
    stop_ringdesk
  done
  # Two nodes, half the agents registered with each, half the callers to each.
  route_config route-node-a.toml $SIP_PORT $ADMIN_PORT node-a
  route_config route-node-b.toml $SIP_PORT2 $ADMIN_PORT2 node-b
  start_ringdesk route-node-a.toml
  RUST_LOG=${BENCH_RUST_LOG:-warn} "$BIN" serve --config "$OUT/route-node-b.toml" >>"$OUT/ringdesk-b.log" 2>&1 &
  RD2_PID=$!
  wait_port udp $SIP_PORT2 30; wait_port tcp $ADMIN_PORT2 30
  start_agents 100000 $((ROUTE_SECS + 200)) route-two-nodes-agents
  read -r rok rfailed < <(register_agents $((ROUTE_AGENTS / 2)) route-two-register-a "$SIP_PORT" 1)
  read -r rok2 rfailed2 < <(register_agents $((ROUTE_AGENTS / 2)) route-two-register-b "$SIP_PORT2" $((ROUTE_AGENTS / 2 + 1)))
  say "routing two-nodes: $((rok + rok2)) agents registered, $((rfailed + rfailed2)) failed"
  route_run two-nodes "$ADMIN_PORT:$SIP_PORT" "$ADMIN_PORT2:$SIP_PORT2"
  stop_agents
  stop_node2
  stop_ringdesk
}

# ---- a new node's replay of the shared queue's log ---------------------------------------
# REPLAY_CALLS synthetic calls (enqueued, then gone: two rows each) are added to the log,
# then a node starts and reads it all before its views mean anything: its log says how many
# rows and how long ("shared queue: caught up with the log").
REPLAY_CALLS=$([ "$QUICK" = 1 ] && echo 20000 || echo 100000)
measure_replay() {
  local n=$REPLAY_CALLS line
  pg_sql ringdesk "WITH h AS (SELECT seq, at_ms FROM acd_log_head WHERE id = 1),
      rows AS (SELECT g, (SELECT seq FROM h) + g AS seq, (SELECT at_ms FROM h) + g / 20 AS at_ms FROM generate_series(1, 2 * $n) g)
    INSERT INTO acd_log (seq, at_ms, node, body)
    SELECT seq, at_ms, 'bench-replay',
      CASE WHEN g % 2 = 1 THEN '{\"kind\":\"enqueue\",\"call\":\"replay-' || (g + 1) / 2 || '\",\"queue\":\"support\",\"priority\":5,\"check\":\"off\",\"skills\":[]}'
           ELSE '{\"kind\":\"left\",\"call\":\"replay-' || g / 2 || '\",\"by\":\"caller\"}' END
    FROM rows" >/dev/null
  pg_sql ringdesk "UPDATE acd_log_head SET seq = (SELECT max(seq) FROM acd_log), at_ms = (SELECT max(at_ms) FROM acd_log) WHERE id = 1" >/dev/null
  local total; total=$(pg_sql ringdesk "SELECT count(*) FROM acd_log")
  route_config replay-node.toml $SIP_PORT $ADMIN_PORT node-replay
  : >"$OUT/replay.log"
  RUST_LOG=warn,ringdesk::runtime::acd=info "$BIN" serve --config "$OUT/replay-node.toml" >>"$OUT/replay.log" 2>&1 &
  RD_PID=$!
  for _ in $(seq 600); do grep -q "caught up with the log" "$OUT/replay.log" && break; sleep 0.2; done
  line=$(grep -m1 "caught up with the log" "$OUT/replay.log" | sed 's/\x1b\[[0-9;]*m//g')
  stop_ringdesk
  local rows secs; rows=$(echo "$line" | sed -n 's/.*rows=\([0-9]*\).*/\1/p'); secs=$(echo "$line" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
  printf '%s\t%s\t%s\n' "$total" "${rows:-n/a}" "${secs:-n/a}" >"$OUT/replay.tsv"
  say "replay: a new node read ${rows:-?} of $total rows in ${secs:-?} s"
}

# ---- callers on hold: one node and two on the shared store ------------------------------
# CLUSTER_HOLD callers press 1 and wait on music (no agents): once with one node on
# PostgreSQL, once split over two nodes (one ringbench per node, each timing its node's
# streams and CPU; the ringbenches run at once). The shared queue carries every caller's
# enqueue; the media stays on the node that answered.
CLUSTER_HOLD=${CLUSTER_HOLD:-$([ "$QUICK" = 1 ] && echo 200 || echo 1000)}
cluster_hold_line() { # setup, callers, json files...
  local setup=$1 n=$2; shift 2
  jq -s -r --arg s "$setup" --argjson n "$n" '
    { up: (map(.up_at_window_end) | add), packets: (map(.rtp.packets) | add),
      late: (map(.rtp.late) | add), p99: (map(.rtp.p99_ms) | max),
      cpu: (map(.proc.cpu_cores_busy // 0) | add) } |
    [$s, $n, .up, .packets, .late, (if .packets > 0 then (.late / .packets * 100000 | round / 100000) else "n/a" end),
     (.p99 * 100 | round / 100), (.cpu * 100 | round / 100)] | @tsv' "$@" >>"$OUT/cluster-hold.tsv" 2>>"$LOG" ||
    printf '%s\t%s\tn/a\n' "$setup" "$n" >>"$OUT/cluster-hold.tsv"
  say "cluster hold $setup: $(tail -1 "$OUT/cluster-hold.tsv")"
}
cluster_hold_run() { # target port, calls, rate, pid, output
  timeout $(($2 / $3 + PRESS_WAIT_S + HOLD_MEASURE + 120)) "$RB" hold --target "127.0.0.1:$1" \
    --calls "$2" --rate "$3" --press "1@$PRESS_MENU_S,1@$PRESS_WAIT_S" --settle "$HOLD_SETTLE_S" \
    --measure "$HOLD_MEASURE" --media-sockets 2 --pid "$4" >"$OUT/$5" 2>>"$LOG" || true
}
measure_cluster_hold() {
  local n=$CLUSTER_HOLD half=$((CLUSTER_HOLD / 2))
  : >"$OUT/cluster-hold.tsv"
  say "cluster hold: $n callers on hold, one node on PostgreSQL, then two"
  start_ringdesk node-a.toml
  cluster_hold_run $SIP_PORT "$n" "$HOLD_RATE" "$RD_PID" cluster-hold-one.json
  stop_ringdesk
  cluster_hold_line one-node "$n" "$OUT/cluster-hold-one.json"
  start_ringdesk node-a.toml
  start_node2
  cluster_hold_run $SIP_PORT "$half" $((HOLD_RATE / 2)) "$RD_PID" cluster-hold-two-a.json &
  local p1=$!
  cluster_hold_run $SIP_PORT2 "$half" $((HOLD_RATE / 2)) "$RD2_PID" cluster-hold-two-b.json &
  local p2=$!
  wait "$p1" "$p2"
  stop_node2
  stop_ringdesk
  cluster_hold_line two-nodes $((2 * half)) "$OUT/cluster-hold-two-a.json" "$OUT/cluster-hold-two-b.json"
}

measure_cluster() {
  need_apt kamailio kamailio
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { say "installing postgresql"; apt-get install -y postgresql >>"$LOG" 2>&1; }
  say "cluster: call rate with SQLite, with PostgreSQL, and with two nodes on PostgreSQL behind Kamailio; steps $CLUSTER_STEPS calls/s, ${CLUSTER_ARRIVE} s of arrivals"
  : >"$OUT/cluster.tsv"
  # SQLite, one node (today's default).
  node_config node-sqlite.toml $SIP_PORT $ADMIN_PORT ""
  start_ringdesk node-sqlite.toml
  cluster_rates sqlite "127.0.0.1:$SIP_PORT" bench/sipp/press-2-info-rate.xml
  stop_ringdesk
  # PostgreSQL, one node.
  start_pg || return 0
  node_config node-a.toml $SIP_PORT $ADMIN_PORT node-a
  node_config node-b.toml $SIP_PORT2 $ADMIN_PORT2 node-b
  start_ringdesk node-a.toml
  cluster_rates postgres "127.0.0.1:$SIP_PORT" bench/sipp/press-2-info-rate.xml
  stop_ringdesk
  # PostgreSQL, two nodes behind Kamailio (the same database, records kept).
  start_ringdesk node-a.toml
  start_node2
  start_kamailio
  cluster_rates two-nodes "127.0.0.1:$KAM_PORT" bench/sipp/press-2-info-rate-routed.xml
  pg_sql ringdesk "SELECT state, count(*) FROM outbox GROUP BY state" >"$OUT/cluster-outbox.txt" || true
  stop_kamailio
  stop_node2
  stop_ringdesk
  measure_cluster_hold
  measure_routing
  measure_replay
  cluster_cleanup
}
