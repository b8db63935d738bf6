#!/usr/bin/env bash
# Where does our server spend its time? perf record (call graphs) on examples/tftpd, pinned to
# CPU 0 with its client, during a curl --tftp-blksize 512 download and an atftp windowsize 32
# download of a SIZE_MIB file; prints perf report --no-children heads and syscall counts.
#   bash benches/loopback/profile.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=${SIZE_MIB:-20}
cargo build --release --examples --quiet
EX=$PWD/target/release/examples
W=$(mktemp -d /dev/shm/tftp-profile.XXXXXX); chmod 755 "$W"; mkdir "$W/root"; chmod 755 "$W/root"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$W/root/f.bin"; chmod 644 "$W/root/f.bin"
PORT=$("$EX/lbtool" port)
taskset -c 0 "$EX/tftpd" --root "$W/root" --bind 127.0.0.1 --port "$PORT" --rate-limit 0 \
    > "$W/tftpd.log" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null; rm -rf "$W"' EXIT
sleep 0.3
run() { # label, client argv...
    local label=$1; shift
    perf record -q -g -p "$SP" -o "$W/$label.data" 2>/dev/null &
    local PP=$!
    sleep 0.5
    timeout 120 taskset -c 0 "$@" > /dev/null 2>&1
    kill -INT "$PP"; wait "$PP" || true
    echo "### $label: perf report --no-children (top 25)"
    perf report -i "$W/$label.data" --no-children --stdio --percent-limit 1.5 -g none 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -25
    perf stat -e 'syscalls:sys_enter_*' -p "$SP" -o "$W/$label.stat" 2>/dev/null &
    PP=$!
    sleep 0.5
    rm -f "$W/out"
    timeout 120 taskset -c 0 "$@" > /dev/null 2>&1
    kill -INT "$PP"; wait "$PP" || true
    echo "### $label: server syscalls during one more download ($SIZE_MIB MiB)"
    grep -E 'syscalls' "$W/$label.stat" | awk '$1 != "0" {print}' | sort -k1 -n -r | head -12
}
run curl512 curl -sS -m 100 --tftp-blksize 512 -o "$W/out" "tftp://127.0.0.1:$PORT/f.bin"
run atftp-w32 atftp --option "blksize 1468" --option "windowsize 32" --option "tsize 0" \
    -g -r f.bin -l "$W/out" 127.0.0.1 "$PORT"
