#!/usr/bin/env bash
# System calls and CPU per lock-step DATA block: curl --tftp-blksize 1468 downloads 20 MiB from
# our server (one worker), tftpd-hpa and rs-tftpd, each server started under `perf stat`
# (children counted: tftpd-hpa forks per transfer), client and server pinned to CPU 0.
# `floor` is the yardstick of benches/loopback/floor.rs (`lbtool floor`): the file read whole
# before the first DATA, then one blocking recv and one send per block, the least a server
# that sleeps between packets can spend. Prints every run, then the medians, and saves them as
# the syscalls section of benches/loopback/RESULTS.md.
#
#   bash benches/loopback/syscalls.sh        # RUNS=5
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
HPA=/usr/sbin/in.tftpd
RS=/opt/rs-tftpd/bin/tftpd
for b in "$HPA" "$RS" /usr/bin/curl /usr/bin/perf; do
    [[ -x $b ]] || { echo "missing $b (run bash .ci/install-peers)" >&2; exit 1; }
done
cargo build --release --examples --quiet
OURS=$PWD/target/release/examples/tftpd
LB=$PWD/target/release/examples/lbtool
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/root"
head -c $((20 << 20)) /dev/urandom > "$WORK/root/f.bin"
blocks=$(( (20 << 20) / 1468 + 1 ))

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# run NAME PORT SERVER-COMMAND... : one download; prints "NAME syscalls/block task-ms"
run() {
    local name=$1 port=$2; shift 2
    local stat="$WORK/stat-$name"
    perf stat -x, -e raw_syscalls:sys_enter,task-clock -o "$stat" -- taskset -c 0 "$@" \
        > /dev/null 2>&1 &
    local pp=$!
    sleep 0.7
    taskset -c 0 curl -s --tftp-blksize 1468 -o "$WORK/got" "tftp://127.0.0.1:$port/f.bin"
    cmp -s "$WORK/got" "$WORK/root/f.bin" || { echo "$name: wrong bytes" >&2; exit 1; }
    sleep 0.3
    pkill -INT -P "$pp" || true
    wait "$pp" 2>/dev/null || true
    local sc tc
    sc=$(awk -F, '/raw_syscalls/ {print $1}' "$stat")
    tc=$(awk -F, '/task-clock/ {print $1}' "$stat")
    awk -v n="$name" -v s="$sc" -v b="$blocks" -v t="$tc" \
        'BEGIN {printf "%s %.2f %.1f\n", n, s / b, t}'
}

: > "$WORK/all"
for i in $(seq "$RUNS"); do
    p=$("$LB" port); run ours "$p" "$OURS" --root "$WORK/root" --bind 127.0.0.1 --port "$p" --workers 1 | tee -a "$WORK/all"
    p=$("$LB" port); run tftpd-hpa "$p" "$HPA" -L -s "$WORK/root" -a "127.0.0.1:$p" | tee -a "$WORK/all"
    p=$("$LB" port); run rs-tftpd "$p" "$RS" -i 127.0.0.1 -p "$p" -d "$WORK/root" -r | tee -a "$WORK/all"
    p=$("$LB" port); run floor "$p" "$LB" floor "$p" "$WORK/root" | tee -a "$WORK/all"
done
SECTION="$WORK/section.md"
{
    echo "## System calls and CPU per lock-step block (benches/loopback/syscalls.sh)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); kernel $(uname -r); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "- \`RUNS=$RUNS bash benches/loopback/syscalls.sh\`: curl --tftp-blksize 1468 downloads 20 MiB ($blocks blocks), client and server on CPU 0, each server under \`perf stat\` with its children; medians of $RUNS runs, the servers alternating"
    echo "- floor: \`lbtool floor\` (benches/loopback/floor.rs), the file read whole first, then one blocking recv and one send per block"
    echo
    echo "| server | system calls per block | server CPU ms for 20 MiB | ours / this | this / floor | every run ms |"
    echo "|---|---|---|---|---|---|"
} > "$SECTION"
floor_ms=$(awk '$1 == "floor" {print $3}' "$WORK/all" | median)
ours_ms=$(awk '$1 == "ours" {print $3}' "$WORK/all" | median)
echo
echo "server      syscalls/block (median)   server CPU ms for 20 MiB (median of $RUNS)"
for n in ours tftpd-hpa rs-tftpd floor; do
    s=$(awk -v n="$n" '$1 == n {print $2}' "$WORK/all" | median)
    t=$(awk -v n="$n" '$1 == n {print $3}' "$WORK/all" | median)
    runs=$(awk -v n="$n" '$1 == n {print $3}' "$WORK/all" | sort -n | tr '\n' ' ')
    printf '%-11s %-25s %s\n' "$n" "$s" "$t"
    awk -v n="$n" -v s="$s" -v t="$t" -v f="$floor_ms" -v o="$ours_ms" -v r="$runs" \
        'BEGIN {printf "| %s | %s | %s | %.2f | %.2f | %s|\n", n, s, t, o / t, t / f, r}' >> "$SECTION"
done
python3 benches/loopback/section.py put syscalls < "$SECTION"
echo "saved to benches/loopback/RESULTS.md (section syscalls)" >&2
