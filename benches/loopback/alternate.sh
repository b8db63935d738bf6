#!/bin/bash
# Alternating A/B(/C...) timing of TFTP servers with one client: the quick check behind a
# single change (the full race is benches/loopback.sh). Every server and client runs on CPU 0,
# the file is 100 MiB of random bytes on tmpfs, every copy is compared with the original, and
# each server's runs alternate with the others' so that a noisy machine hits all alike.
#
# usage: benches/loopback/alternate.sh NAME=COMMAND [NAME=COMMAND...]
#   COMMAND starts a server in the foreground; PORT and ROOT in it are replaced by a free port
#   and the served folder. Environment: RUNS (7), CLIENT (atftp | curl), BLK (1468), W (atftp
#   windowsize, 1), MIB (100).
# example, the server as built against the same server with an older build:
#   benches/loopback/alternate.sh \
#     "new=target/release/examples/tftpd --root ROOT --bind 127.0.0.1 --port PORT --rate-limit 0" \
#     "old=/tmp/old/tftpd --root ROOT --bind 127.0.0.1 --port PORT --rate-limit 0"
# Prints, per server, the median wall time in milliseconds and every run sorted.
set -euo pipefail

[ $# -ge 1 ] || { sed -n 2,15p "$0"; exit 2; }
RUNS=${RUNS:-7}
CLIENT=${CLIENT:-atftp}
ROOT=$(mktemp -d -p /dev/shm alternate.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$ROOT"
}
trap cleanup EXIT
head -c $(( ${MIB:-100} << 20 )) /dev/urandom > "$ROOT/big.bin"

free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

NAMES=(); PORTS=()
for spec in "$@"; do
    name=${spec%%=*}; cmd=${spec#*=}; port=$(free_port)
    cmd=${cmd//PORT/$port}; cmd=${cmd//ROOT/$ROOT}
    taskset -c 0 bash -c "exec $cmd" >/dev/null 2>&1 &
    PIDS+=($!); NAMES+=("$name"); PORTS+=("$port")
done
sleep 0.5

fetch() { # port
    rm -f "$ROOT/out"
    case $CLIENT in
        atftp) timeout 120 taskset -c 0 atftp --option "blksize ${BLK:-1468}" \
                   --option "windowsize ${W:-1}" -g -r big.bin -l "$ROOT/out" 127.0.0.1 "$1" \
                   >/dev/null 2>&1 ;;
        curl) timeout 120 taskset -c 0 curl -sS --tftp-blksize "${BLK:-1468}" -o "$ROOT/out" \
                  "tftp://127.0.0.1:$1/big.bin" ;;
        *) echo "unknown CLIENT $CLIENT" >&2; exit 2 ;;
    esac
}

declare -A TIMES
for _ in $(seq "$RUNS"); do
    for i in "${!NAMES[@]}"; do
        start=$(date +%s%N)
        fetch "${PORTS[$i]}" || true
        end=$(date +%s%N)
        cmp -s "$ROOT/out" "$ROOT/big.bin" || { echo "${NAMES[$i]}: copy differs" >&2; exit 1; }
        TIMES[${NAMES[$i]}]+="$(( (end - start) / 1000000 )) "
    done
done

for name in "${NAMES[@]}"; do
    sorted=$(tr ' ' '\n' <<< "${TIMES[$name]}" | sed '/^$/d' | sort -n | tr '\n' ' ')
    median=$(tr ' ' '\n' <<< "$sorted" | sed '/^$/d' | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    echo "$name median ${median} ms: $sorted"
done
