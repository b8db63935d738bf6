#!/usr/bin/env bash
# End-to-end race on loopback: our example server against tftpd-hpa, atftpd and rs-tftpd, with
# the same clients, everything pinned to CPU 0; then the same under 10% loss, then concurrency.
# Prints a Markdown report and saves it to benches/loopback/RESULTS.md (keeping the sections
# that benches/loopback/syscalls.sh and first_packet.sh put there).
#
#   bash benches/loopback.sh
#
# Knobs (environment): ROUNDS (5), ROUNDS_512 (rounds for the slow curl blksize 512 row, default
# 3 to keep the run under ~15 min), SIZE_MIB (100), LOSS_RUNS (3), LOSS_HPA_KIB (file size for the tftpd-hpa pairs under
# loss, default 128; scaled to 1 MiB in the report), SWARM (500), SWARM_WINDOWS ("64 32": one
# swarm per windowsize), CURLS (100).
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
ROUNDS=${ROUNDS:-5}
ROUNDS_512=${ROUNDS_512:-3}
SIZE_MIB=${SIZE_MIB:-100}
LOSS_RUNS=${LOSS_RUNS:-3}
LOSS_HPA_KIB=${LOSS_HPA_KIB:-128}
SWARM=${SWARM:-500}
SWARM_WINDOWS=${SWARM_WINDOWS:-64 32}
CURLS=${CURLS:-100}
OUT_MD=$REPO/benches/loopback/RESULTS.md

HPA=/usr/sbin/in.tftpd
ATFTPD=/opt/atftpd/usr/sbin/atftpd
RSTFTPD=/opt/rs-tftpd/bin/tftpd
for b in "$HPA" "$ATFTPD" "$RSTFTPD" /usr/bin/tftp /usr/bin/atftp /usr/bin/curl; do
    [[ -x $b ]] || { echo "missing peer: $b (run bash .ci/install-peers)" >&2; exit 1; }
done

echo "building (cargo build --release --examples)..." >&2
cargo build --release --examples --quiet
EX=$REPO/target/release/examples
LB=$EX/lbtool

# The timing wrapper polls (500 us) on the other CPU so that it never takes CPU 0 from the race.
if (( $(nproc) > 1 )); then TIMER_CPU=1; else TIMER_CPU=0; fi

WORK=$(mktemp -d /dev/shm/tftp-loopback.XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/root
DL=$WORK/dl
mkdir -p "$ROOT" "$DL"
chmod 755 "$ROOT"

# ---------------------------------------------------------------------------------------------
# CPU accounting for a server's whole process tree: one cgroup per server.
CG_KIND=""
CG_BASE=""
if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && mkdir "/sys/fs/cgroup/lb-probe-$$" 2>/dev/null; then
    rmdir "/sys/fs/cgroup/lb-probe-$$"; CG_KIND=v2; CG_BASE=/sys/fs/cgroup
elif [[ -d /sys/fs/cgroup/cpuacct ]] && mkdir "/sys/fs/cgroup/cpuacct/lb-probe-$$" 2>/dev/null; then
    rmdir "/sys/fs/cgroup/cpuacct/lb-probe-$$"; CG_KIND=v1; CG_BASE=/sys/fs/cgroup/cpuacct
elif [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]] && mkdir "/sys/fs/cgroup/unified/lb-probe-$$" 2>/dev/null; then
    rmdir "/sys/fs/cgroup/unified/lb-probe-$$"; CG_KIND=v2; CG_BASE=/sys/fs/cgroup/unified
else
    echo "no writable cgroup (v1 cpuacct or v2): cannot account server CPU" >&2; exit 1
fi
case $CG_KIND in
    v1) CG_METHOD="cgroup v1 cpuacct, one cgroup per server (cpuacct.usage before/after each client run; includes forked children)";;
    v2) CG_METHOD="cgroup v2, one cgroup per server (cpu.stat usage_usec before/after each client run; includes forked children)";;
esac
cg_ns() { # cumulative CPU nanoseconds of cgroup $1
    if [[ $CG_KIND == v1 ]]; then cat "$CG_BASE/$1/cpuacct.usage"
    else awk '/^usage_usec/ {print $2 * 1000}' "$CG_BASE/$1/cpu.stat"; fi
}

declare -a PIDS=()
declare -a CGS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${CGS[@]}"; do rmdir "$CG_BASE/$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$LB" port; }

wait_udp() { # port: wait (10 s at most) until something listens on 127.0.0.1:port
    local i
    for i in $(seq 200); do
        if ss -Huln "sport = :$1" | grep -q .; then return 0; fi
        sleep 0.05
    done
    echo "nothing listens on udp port $1" >&2; return 1
}

# start_server NAME PORT CMD... : in its own cgroup, pinned to CPU 0; sets SERVER_PID
start_server() {
    local name=$1 port=$2; shift 2
    local cg="tftp-loopback-$$-$name"
    mkdir "$CG_BASE/$cg"
    CGS+=("$cg")
    ( echo "$BASHPID" > "$CG_BASE/$cg/cgroup.procs"; exec taskset -c 0 "$@" ) \
        > "$WORK/$name.log" 2>&1 < /dev/null &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_udp "$port"
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

verify() { # file size sha
    local got
    got=$(stat -c %s "$1" 2>/dev/null || echo missing)
    if [[ $got != "$2" ]]; then echo "FAIL: $1 has size $got, expected $2" >&2; exit 1; fi
    got=$(taskset -c "$TIMER_CPU" sha256sum "$1" | cut -d' ' -f1)
    if [[ $got != "$3" ]]; then echo "FAIL: $1 sha256 $got, expected $3" >&2; exit 1; fi
}

# ---------------------------------------------------------------------------------------------
echo "making files in $ROOT..." >&2
head -c $((SIZE_MIB << 20)) /dev/urandom > "$ROOT/big.bin"
head -c $((1 << 20)) /dev/urandom > "$ROOT/mid.bin"
head -c $((LOSS_HPA_KIB << 10)) /dev/urandom > "$ROOT/small.bin"
chmod 644 "$ROOT"/*.bin
BIG_SIZE=$(stat -c %s "$ROOT/big.bin"); BIG_SHA=$(sha256sum "$ROOT/big.bin" | cut -d' ' -f1)
MID_SIZE=$(stat -c %s "$ROOT/mid.bin"); MID_SHA=$(sha256sum "$ROOT/mid.bin" | cut -d' ' -f1)
SMALL_SIZE=$(stat -c %s "$ROOT/small.bin"); SMALL_SHA=$(sha256sum "$ROOT/small.bin" | cut -d' ' -f1)

declare -A PORT SPID CMDLINE
PORT[ours]=$(free_port)
CMDLINE[ours]="$EX/tftpd --root ROOT --bind 127.0.0.1 --port ${PORT[ours]} --max-windowsize 64 --max-sessions 600 --rate-limit 0"
start_server ours "${PORT[ours]}" "$EX/tftpd" --root "$ROOT" --bind 127.0.0.1 --port "${PORT[ours]}" \
    --max-windowsize 64 --max-sessions 600 --rate-limit 0
SPID[ours]=$SERVER_PID
PORT[hpa]=$(free_port)
CMDLINE[hpa]="$HPA -L -s ROOT -a 127.0.0.1:${PORT[hpa]}"
start_server hpa "${PORT[hpa]}" "$HPA" -L -s "$ROOT" -a "127.0.0.1:${PORT[hpa]}"
SPID[hpa]=$SERVER_PID
PORT[atftpd]=$(free_port)
CMDLINE[atftpd]="$ATFTPD --daemon --no-fork --port ${PORT[atftpd]} --bind-address 127.0.0.1 --logfile - ROOT"
start_server atftpd "${PORT[atftpd]}" "$ATFTPD" --daemon --no-fork --port "${PORT[atftpd]}" \
    --bind-address 127.0.0.1 --logfile - "$ROOT"
SPID[atftpd]=$SERVER_PID
PORT[rs]=$(free_port)
CMDLINE[rs]="$RSTFTPD -i 127.0.0.1 -p ${PORT[rs]} -d ROOT -r"
start_server rs "${PORT[rs]}" "$RSTFTPD" -i 127.0.0.1 -p "${PORT[rs]}" -d "$ROOT" -r
SPID[rs]=$SERVER_PID

declare -A SNAME=([ours]="ours (examples/tftpd)" [hpa]="tftpd-hpa 5.2" [atftpd]="atftpd 0.8" [rs]="rs-tftpd 1.0")

# client_cmd CLIENT PORT REMOTE OUT : prints the client's argv, one per line
client_cmd() {
    local c=$1 p=$2 r=$3 o=$4
    case $c in
        curl512|curl1468|curl65464)
            printf '%s\n' curl -sS -m 280 --tftp-blksize "${c#curl}" -o "$o" "tftp://127.0.0.1:$p/$r";;
        atftp-w*)
            printf '%s\n' atftp --option "blksize 1468" --option "windowsize ${c#atftp-w}" \
                --option "tsize 0" -g -r "$r" -l "$o" 127.0.0.1 "$p";;
        ours)
            printf '%s\n' "$EX/tftp" get "127.0.0.1:$p" "$r" "$o" --blksize 1468 --windowsize 64;;
        hpa)
            printf '%s\n' tftp 127.0.0.1 "$p" -m binary -c get "$r" "$o";;
        ours-plain)
            printf '%s\n' "$EX/tftp" get "127.0.0.1:$p" "$r" "$o";;
    esac
}
declare -A CLABEL=(
    [curl512]="curl 7.88 --tftp-blksize 512 (lock-step)"
    [curl1468]="curl 7.88 --tftp-blksize 1468 (lock-step)"
    [curl65464]="curl 7.88 --tftp-blksize 65464 (lock-step)"
    [atftp-w1]="atftp 0.8 blksize 1468 windowsize 1"
    [atftp-w8]="atftp 0.8 blksize 1468 windowsize 8"
    [atftp-w32]="atftp 0.8 blksize 1468 windowsize 32"
    [ours]="our tftp --blksize 1468 --windowsize 64"
)
CLIENTS=(curl512 curl1468 curl65464 atftp-w1 atftp-w8 atftp-w32 ours)
servers_for() { if [[ $1 == ours ]]; then echo "ours atftpd rs"; else echo "ours hpa atftpd rs"; fi; }

# timed_get CLIENT SERVER_KEY REMOTE OUT : prints "seconds cpu_ns"
timed_get() {
    local c=$1 s=$2 r=$3 o=$4 until=() cg="tftp-loopback-$$-$2" before after secs
    rm -f "$o"
    [[ $c == ours || $c == ours-plain ]] && until=(--until-file "$o")
    mapfile -t argv < <(client_cmd "$c" "${PORT[$s]}" "$r" "$o")
    before=$(cg_ns "$cg")
    if ! secs=$(taskset -c "$TIMER_CPU" "$LB" timeit "${until[@]}" --log "$WORK/client.log" -- \
            timeout 300 taskset -c 0 "${argv[@]}"); then
        echo "FAIL: $c from $s exited non-zero; its output:" >&2; cat "$WORK/client.log" >&2; exit 1
    fi
    sleep 0.05
    after=$(cg_ns "$cg")
    echo "$secs $((after - before))"
}

# ---------------------------------------------------------------------------------------------
# 1. The race.
RACE=$WORK/race.tsv
: > "$RACE"
START=$(date +%s)
for ((round = 1; round <= ROUNDS; round++)); do
    for c in "${CLIENTS[@]}"; do
        if [[ $c == curl512 ]] && (( round > ROUNDS_512 )); then continue; fi
        for s in $(servers_for "$c"); do
            timed_get "$c" "$s" big.bin "$DL/big.out" > "$WORK/timed"
            read -r secs cpu < "$WORK/timed"
            verify "$DL/big.out" "$BIG_SIZE" "$BIG_SHA"
            rm -f "$DL/big.out"
            printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$s" "$round" "$secs" "$cpu" >> "$RACE"
            printf 'round %d %-10s %-7s %8.3f s  server CPU %6.3f s\n' "$round" "$c" "$s" "$secs" \
                "$(awk -v n="$cpu" 'BEGIN {print n / 1e9}')" >&2
        done
    done
done
RACE_SECS=$(( $(date +%s) - START ))

# ---------------------------------------------------------------------------------------------
# 2. Under loss: the seeded relay of tests/support/relay.rs, 10% loss each way.
# A dedicated tftpd-hpa with its 1 s retransmission timeout spelled out.
PORT[hpaloss]=$(free_port)
CMDLINE[hpaloss]="$HPA -L -T 1000000 -s ROOT -a 127.0.0.1:${PORT[hpaloss]}"
start_server hpaloss "${PORT[hpaloss]}" "$HPA" -L -T 1000000 -s "$ROOT" -a "127.0.0.1:${PORT[hpaloss]}"
SPID[hpaloss]=$SERVER_PID

LOSS=$WORK/loss.tsv
: > "$LOSS"
# start_relay SERVER_PORT SEED : sets RELAY_PID and RELAY_PORT
start_relay() {
    local f; f=$(mktemp "$WORK/relay.XXXXXX")
    taskset -c 0 "$LB" relay "$1" 0.10 "$2" 900 > "$f" 2>> "$WORK/relay.log" < /dev/null &
    RELAY_PID=$!
    PIDS+=("$RELAY_PID")
    local i
    for i in $(seq 100); do [[ -s $f ]] && break; sleep 0.05; done
    RELAY_PORT=$(head -n1 "$f")
    [[ -n $RELAY_PORT ]] || { echo "relay did not start" >&2; exit 1; }
}
# loss_run CLIENT SERVER_KEY REMOTE SIZE SHA SEED : appends a row to $LOSS
loss_run() {
    local c=$1 s=$2 r=$3 size=$4 sha=$5 seed=$6 o="$DL/loss-$1-$2-$6.out" until=() secs st=0
    start_relay "${PORT[$s]}" "$seed"
    mapfile -t argv < <(client_cmd "$c" "$RELAY_PORT" "$r" "$o")
    [[ $c == ours-plain ]] && until=(--until-file "$o")
    secs=$(taskset -c "$TIMER_CPU" "$LB" timeit "${until[@]}" --log "$WORK/loss-$c-$s-$seed.log" -- \
        timeout 600 taskset -c 0 "${argv[@]}") || st=$?
    stop_pid "$RELAY_PID"
    if (( st != 0 )); then
        # A client that gives up under loss is a result (reported as a failed run), not a
        # harness error; a wrong byte in a completed download still fails the whole run.
        echo "loss $c $s seed $seed: client exited $st: $(tail -n1 "$WORK/loss-$c-$s-$seed.log")" >&2
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$s" "$seed" "$secs" "$size" \
            "exit $st: $(tail -n1 "$WORK/loss-$c-$s-$seed.log")" >> "$LOSS"
        rm -f "$o"
        return 0
    fi
    verify "$o" "$size" "$sha"
    rm -f "$o"
    printf '%s\t%s\t%s\t%s\t%s\tok\n' "$c" "$s" "$seed" "$secs" "$size" >> "$LOSS"
    printf 'loss %-10s %-7s seed %d %8.3f s (%d bytes)\n' "$c" "$s" "$seed" "$secs" "$size" >&2
}
START=$(date +%s)
# Against our server: 1 MiB, one run at a time.
for seed in $(seq "$LOSS_RUNS"); do
    for c in hpa ours-plain; do loss_run "$c" ours mid.bin "$MID_SIZE" "$MID_SHA" "$seed"; done
done
# Against tftpd-hpa: the smaller file, and the runs at the same time (each through its own relay;
# they wait on 1 s timers, not on the CPU).
LOSS_JOBS=()
for seed in $(seq "$LOSS_RUNS"); do
    for c in hpa ours-plain; do
        loss_run "$c" hpaloss small.bin "$SMALL_SIZE" "$SMALL_SHA" "$seed" &
        LOSS_JOBS+=($!)
    done
done
for j in "${LOSS_JOBS[@]}"; do wait "$j" || { echo "FAIL: a loss run against tftpd-hpa failed" >&2; exit 1; }; done
LOSS_SECS=$(( $(date +%s) - START ))
stop_pid "${SPID[hpaloss]}"

# ---------------------------------------------------------------------------------------------
# 3. Concurrency.
CONC=$WORK/conc.tsv
: > "$CONC"
# 3a. SWARM sessions of the tftp_proto client in one mio loop against a fresh server of ours,
#     once per window size in SWARM_WINDOWS (memory per session follows the window).
SWARM_TSV=$WORK/swarm.tsv
: > "$SWARM_TSV"
for sw_window in $SWARM_WINDOWS; do
    PORT[swarm]=$(free_port)
    CMDLINE[swarm]="$EX/tftpd --root ROOT --bind 127.0.0.1 --port ${PORT[swarm]} --max-sessions 600 --rate-limit 0"
    start_server "swarm$sw_window" "${PORT[swarm]}" "$EX/tftpd" --root "$ROOT" --bind 127.0.0.1 --port "${PORT[swarm]}" \
        --max-sessions 600 --rate-limit 0
    SPID[swarm]=$SERVER_PID
    RSS_IDLE=$(awk '/^VmHWM/ {print $2}' "/proc/${SPID[swarm]}/status")
    SWARM_CMD="taskset -c 0 $LB swarm PORT mid.bin ROOT/mid.bin $SWARM 1468 {${SWARM_WINDOWS// /|}} 120"
    read -r SW_SECS SW_RATE SW_FAIL _ < <(taskset -c 0 "$LB" swarm "${PORT[swarm]}" mid.bin "$ROOT/mid.bin" \
        "$SWARM" 1468 "$sw_window" 120 || true)
    HWM=$(awk '/^VmHWM/ {print $2}' "/proc/${SPID[swarm]}/status")
    stop_pid "${SPID[swarm]}"
    echo "swarm window $sw_window: $SW_SECS s, $SW_RATE transfers/s, $SW_FAIL failures, server VmHWM $HWM kB (idle $RSS_IDLE kB)" >&2
    [[ ${SW_FAIL:-x} == 0 ]] || { echo "FAIL: swarm had failures: ${SW_FAIL:-none reported}" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sw_window" "$SW_SECS" "$SW_RATE" "$SW_FAIL" "$HWM" "$RSS_IDLE" \
        >> "$SWARM_TSV"
done

# 3b. CURLS simultaneous curl downloads against each server.
for s in ours hpa atftpd rs; do
    pids=()
    t0=$(date +%s.%N)
    for ((i = 0; i < CURLS; i++)); do
        timeout 120 taskset -c 0 curl -sS -m 110 --tftp-blksize 1468 -o "$DL/c$i.out" \
            "tftp://127.0.0.1:${PORT[$s]}/mid.bin" > /dev/null 2>> "$WORK/curls.log" &
        pids+=($!)
    done
    fails=0
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    t1=$(date +%s.%N)
    for ((i = 0; i < CURLS; i++)); do
        if (( fails == 0 )); then verify "$DL/c$i.out" "$MID_SIZE" "$MID_SHA"; fi
        rm -f "$DL/c$i.out"
    done
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    printf '%s\t%s\t%s\n' "$s" "$wall" "$fails" >> "$CONC"
    echo "$CURLS curls from $s: $wall s, $fails failed" >&2
done

# ---------------------------------------------------------------------------------------------
# 4. The report.
export ROUNDS ROUNDS_512 SIZE_MIB LOSS_RUNS LOSS_HPA_KIB SWARM CURLS RACE LOSS CONC CG_METHOD \
    RACE_SECS LOSS_SECS SWARM_TSV BIG_SIZE MID_SIZE SMALL_SIZE TIMER_CPU
export CMD_OURS="${CMDLINE[ours]}" CMD_HPA="${CMDLINE[hpa]}" CMD_ATFTPD="${CMDLINE[atftpd]}" \
    CMD_RS="${CMDLINE[rs]}" CMD_HPALOSS="${CMDLINE[hpaloss]}" CMD_SWARMD="${CMDLINE[swarm]}" SWARM_CMD
export DATE_NOW; DATE_NOW=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
export NPROC; NPROC=$(nproc)
export CPU_MODEL; CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
export KERNEL; KERNEL=$(uname -r)
export GIT_REV; GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The sections of benches/loopback/syscalls.sh and first_packet.sh stay (section.py).
OLD_MD=$(mktemp)
cp "$OUT_MD" "$OLD_MD" 2>/dev/null || true
python3 "$REPO/benches/loopback/report.py" | tee "$OUT_MD"
python3 "$REPO/benches/loopback/section.py" carry "$OLD_MD" "$OUT_MD"
rm -f "$OLD_MD"
echo "saved to $OUT_MD" >&2
