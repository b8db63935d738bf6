#!/usr/bin/env bash
# Boot storm: N lock-step clients (blksize 1468, no windowsize asked, 1 MiB each, the requests
# spread over the first second) against our server, tftpd-hpa, atftpd and rs-tftpd, one
# server at a time; then a run of many concurrent sessions against ours alone. Reports wall
# time (first request to last completion), failures (every block is compared with the file),
# the peak number of sessions open at once, and the server's memory: the peak sum of VmRSS of
# its processes (tftpd-hpa forks one per transfer), sampled every 20 ms (or the main process's
# VmHWM if higher), beside its idle RSS.
# The clients (one mio loop, lbtool swarm) run on CPU 1 and the server on CPU 0.
#
#   bash benches/bootstorm.sh        # N=1000 ROUNDS=3 BIG_N=10000 BIG_KIB=64 CLIENT_MIN_RTO_MS=250
#
# Writes the report to benches/bootstorm/RESULTS.md.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
N=${N:-1000}
ROUNDS=${ROUNDS:-3}
BIG_N=${BIG_N:-10000}
BIG_KIB=${BIG_KIB:-64}
OUT_MD=$REPO/benches/bootstorm/RESULTS.md
# The clients retransmit no sooner than this, as firmware does (iPXE's floor is 250 ms,
# U-Boot's timeout 5 s); the core's own 5 ms floor would make every client of a server that
# falls behind repeat its ACK many times a second.
CLIENT_MIN_RTO_MS=${CLIENT_MIN_RTO_MS:-250}
HPA=/usr/sbin/in.tftpd
ATFTPD=/opt/atftpd/usr/sbin/atftpd
RSTFTPD=/opt/rs-tftpd/bin/tftpd
for b in "$HPA" "$ATFTPD" "$RSTFTPD"; do
    [[ -x $b ]] || { echo "missing peer: $b (run bash .ci/install-peers)" >&2; exit 1; }
done
# One socket per client in the client process, and per transfer in the server: raise the
# descriptor limit as far as this machine lets us.
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > BIG_N + 100 )) || { echo "descriptor limit $(ulimit -n) too low for BIG_N=$BIG_N" >&2; exit 1; }

cargo build --release --examples --quiet
EX=$REPO/target/release/examples
LB=$EX/lbtool
if (( $(nproc) > 1 )); then CLIENT_CPU=1; else CLIENT_CPU=0; fi
WORK=$(mktemp -d /dev/shm/tftp-storm.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/root"
chmod 755 "$WORK/root"
head -c $((1 << 20)) /dev/urandom > "$WORK/root/boot.img"
head -c $((BIG_KIB << 10)) /dev/urandom > "$WORK/root/small.img"
chmod 644 "$WORK/root/"*
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The sum of VmRSS (kB) of PID and all its descendants.
tree_rss() {
    local pids=("$1") all=() p
    while ((${#pids[@]})); do
        p=${pids[0]}; pids=("${pids[@]:1}"); all+=("$p")
        local kids
        kids=$(cat "/proc/$p/task/"*/children 2>/dev/null || true)
        for k in $kids; do pids+=("$k"); done
    done
    for p in "${all[@]}"; do
        awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true
    done | awk '{s += $1} END {print s + 0}'
}

# start NAME PORT CMD... : starts a server on CPU 0 (SERVER_PID), waits for its port.
start() {
    local name=$1 port=$2; shift 2
    # LIBC_FATAL_STDERR_: a glibc abort message goes to the log, not to a terminal.
    LIBC_FATAL_STDERR_=1 taskset -c 0 "$@" > "$WORK/$name.log" 2>&1 < /dev/null &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 100); do
        ss -Huln "sport = :$port" | grep -q . && return 0
        sleep 0.05
    done
    echo "$name did not listen on $port: $(cat "$WORK/$name.log")" >&2
    exit 1
}

# storm SERVER_PID PORT FILE N SPREAD_MS : prints "secs failures peak_open peak_rss idle_rss"
storm() {
    local pid=$1 port=$2 file=$3 n=$4 spread=$5
    local idle peak=0 out="$WORK/storm.out"
    idle=$(tree_rss "$pid" || echo 0)
    taskset -c "$CLIENT_CPU" "$LB" swarm "$port" "$file" "$WORK/root/$file" "$n" 1468 0 600 \
        "$spread" "$CLIENT_MIN_RTO_MS" > "$out" 2>&1 &
    local cp=$!
    while kill -0 "$cp" 2>/dev/null; do
        local r; r=$(tree_rss "$pid" || echo 0)
        if (( r > peak )); then peak=$r; fi
        sleep 0.02
    done
    wait "$cp" || true
    # The main process's own high-water mark catches a peak between two samples.
    local hwm; hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    if (( hwm > peak )); then peak=$hwm; fi
    local secs rate fail open
    read -r secs rate fail open < "$out" || true
    echo "${secs:-nan} ${fail:-$n} ${open:-0} $peak $idle"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A CMD
RESULTS=$WORK/results.tsv
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
    for s in ours tftpd-hpa atftpd rs-tftpd; do
        port=$("$LB" port)
        case $s in
            ours) CMD[$s]="$EX/tftpd --root ROOT --bind 127.0.0.1 --port PORT --max-sessions 20000 --rate-limit 0"
                  start "$s" "$port" "$EX/tftpd" --root "$WORK/root" --bind 127.0.0.1 --port "$port" \
                      --max-sessions 20000 --rate-limit 0 ;;
            tftpd-hpa) CMD[$s]="$HPA -L -s ROOT -a 127.0.0.1:PORT"
                  start "$s" "$port" "$HPA" -L -s "$WORK/root" -a "127.0.0.1:$port" ;;
            atftpd) CMD[$s]="$ATFTPD --daemon --no-fork --maxthread 2000 --port PORT --bind-address 127.0.0.1 --logfile /dev/null ROOT"
                  start "$s" "$port" "$ATFTPD" --daemon --no-fork --maxthread 2000 --port "$port" \
                      --bind-address 127.0.0.1 --logfile /dev/null "$WORK/root" ;;
            rs-tftpd) CMD[$s]="$RSTFTPD -i 127.0.0.1 -p PORT -d ROOT -r"
                  start "$s" "$port" "$RSTFTPD" -i 127.0.0.1 -p "$port" -d "$WORK/root" -r ;;
        esac
        sleep 0.3
        read -r secs fail open peak idle < <(storm "$SERVER_PID" "$port" boot.img "$N" 1000)
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            printf -- '- round %d: %s exited during the storm; its last words: `%s`\n' "$round" "$s" \
                "$(grep -v '^$' "$WORK/$s.log" | tail -n 1 | tr -d '`')" >> "$WORK/exits"
        fi
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$secs" "$fail" "$open" "$peak" "$idle" >> "$RESULTS"
        printf 'round %d %-9s %8.3f s  %5d failures  peak open %5d  peak RSS %7d kB (idle %d kB)\n' \
            "$round" "$s" "$secs" "$fail" "$open" "$peak" "$idle" >&2
    done
done

# Many at once against ours: all requests at once, a small file, so that they overlap.
port=$("$LB" port)
start big "$port" "$EX/tftpd" --root "$WORK/root" --bind 127.0.0.1 --port "$port" \
    --max-sessions 20000 --rate-limit 0
sleep 0.3
read -r BIG_SECS BIG_FAIL BIG_OPEN BIG_PEAK BIG_IDLE < <(storm "$SERVER_PID" "$port" small.img "$BIG_N" 0)
kill "$SERVER_PID" 2>/dev/null || true
echo "$BIG_N at once: $BIG_SECS s, $BIG_FAIL failures, peak open $BIG_OPEN, peak RSS $BIG_PEAK kB (idle $BIG_IDLE kB)" >&2

{
    echo "# Boot storm (\`bash benches/bootstorm.sh\`)"
    echo
    echo "Run of $(date -u +%Y-%m-%d) at commit $(git -C "$REPO" rev-parse --short HEAD), $(nproc) CPUs"
    echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), the server on CPU 0, the"
    echo "$N clients (one mio loop of \`lbtool swarm\`, blksize 1468, no windowsize asked, 1 MiB each,"
    echo "started evenly over 1 s, retransmitting no sooner than $CLIENT_MIN_RTO_MS ms) on CPU $CLIENT_CPU;"
    echo "$ROUNDS rounds alternating the servers; medians."
    echo "Memory: the peak of the sum of VmRSS of the server's processes, sampled every 20 ms, or the"
    echo "main process's VmHWM if higher."
    echo
    echo "| server | time (s) | failures | peak sessions open | peak RSS (kB) | idle RSS (kB) | every run: time / failures / RSS |"
    echo "|---|---|---|---|---|---|---|"
    for s in ours tftpd-hpa atftpd rs-tftpd; do
        col() { awk -F'\t' -v s="$s" -v c="$1" '$1 == s {print $c}' "$RESULTS"; }
        runs=$(awk -F'\t' -v s="$s" '$1 == s {printf "%s%.3f / %s / %s", sep, $2, $3, $5; sep="; "}' "$RESULTS")
        printf '| %s | %.3f | %s | %s | %s | %s | %s |\n' "$s" "$(col 2 | median)" "$(col 3 | median)" \
            "$(col 4 | median)" "$(col 5 | median)" "$(col 6 | median)" "$runs"
    done
    echo
    if [[ -s $WORK/exits ]]; then
        echo "Servers that stopped during a storm (their failures are the transfers it left):"
        cat "$WORK/exits"
        echo
    fi
    echo "Servers:"
    for s in ours tftpd-hpa atftpd rs-tftpd; do echo "- $s: \`${CMD[$s]}\`"; done
    echo
    echo "$BIG_N sessions at once against ours (${BIG_KIB} KiB each, all requested at once, the same"
    echo "server command): $BIG_SECS s, $BIG_FAIL failures, at most $BIG_OPEN sessions open at once"
    echo "(between their first DATA and their end), peak RSS $BIG_PEAK kB against $BIG_IDLE kB idle:"
    awk -v p="$BIG_PEAK" -v i="$BIG_IDLE" -v o="$BIG_OPEN" \
        'BEGIN {if (o > 0) printf "%.1f KiB per open session above idle.\n", (p - i) / o}'
} > "$OUT_MD"
cat "$OUT_MD"
