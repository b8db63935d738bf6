#!/usr/bin/env bash
# First-packet recovery under loss: tftp-hpa's client (lock-step, no options, its own 5 s
# timer) downloads 100 KiB from our server through the seeded relay of tests/support/relay.rs
# with 10% loss each way, once per seed, with the server repeating its first packet once
# (--first-packet-repeats 1, the default) and never (0). Prints every run and the medians,
# and saves them as the first_packet section of benches/loopback/RESULTS.md.
#
#   bash benches/loopback/first_packet.sh            # SEEDS=9 SIZE_KIB=100 LOSS=0.10
set -euo pipefail

cd "$(dirname "$0")/../.."
SEEDS=${SEEDS:-9}
SIZE_KIB=${SIZE_KIB:-100}
LOSS=${LOSS:-0.10}
TFTP=/usr/bin/tftp
[[ -x $TFTP ]] || { echo "missing tftp-hpa's client (run bash .ci/install-peers)" >&2; exit 1; }

cargo build --release --examples --quiet
EX=$PWD/target/release/examples
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root"
head -c $((SIZE_KIB << 10)) /dev/urandom > "$WORK/root/f.bin"
want=$(sha256sum < "$WORK/root/f.bin")

SECTION="$WORK/section.md"
{
    echo "## First-packet recovery under 10% loss (benches/loopback/first_packet.sh)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); kernel $(uname -r)"
    echo "- \`SEEDS=$SEEDS SIZE_KIB=$SIZE_KIB LOSS=$LOSS bash benches/loopback/first_packet.sh\`: tftp-hpa's client (\`tftp -m binary\`, lock-step, no options, its own 5 s timer) through the seeded relay, $LOSS loss each way, $SIZE_KIB KiB, one run per seed"
    echo
    echo "| --first-packet-repeats | median s | every run s (seeds 1..$SEEDS) |"
    echo "|---|---|---|"
} > "$SECTION"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for repeats in 1 0; do
    port=$("$EX/lbtool" port)
    "$EX/tftpd" --root "$WORK/root" --bind 127.0.0.1 --port "$port" --workers 1 \
        --first-packet-repeats "$repeats" 2> "$WORK/server-$repeats.log" &
    server=$!
    PIDS+=("$server")
    sleep 0.3
    times=()
    for seed in $(seq "$SEEDS"); do
        relay_out="$WORK/relay-$repeats-$seed"
        "$EX/lbtool" relay "$port" "$LOSS" "$seed" 300 > "$relay_out" 2>/dev/null &
        relay=$!
        PIDS+=("$relay")
        for _ in $(seq 100); do [[ -s $relay_out ]] && break; sleep 0.05; done
        rport=$(head -n1 "$relay_out")
        out="$WORK/got-$repeats-$seed"
        secs=$("$EX/lbtool" timeit -- timeout 300 "$TFTP" 127.0.0.1 "$rport" -m binary \
            -c get f.bin "$out")
        kill "$relay" 2>/dev/null || true
        wait "$relay" 2>/dev/null || true
        got=$(sha256sum < "$out" 2>/dev/null || true)
        [[ $got == "$want" ]] || { echo "seed $seed: wrong bytes" >&2; exit 1; }
        printf 'repeats %s seed %2d: %7.3f s\n' "$repeats" "$seed" "$secs"
        times+=("$secs")
    done
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    med=$(printf '%s\n' "${times[@]}" | median)
    printf 'repeats %s: median %.3f s over %d seeds (%s)\n' "$repeats" "$med" "$SEEDS" "${times[*]}"
    printf '| %s | %.3f | %s |\n' "$repeats" "$med" \
        "$(printf '%.3f ' "${times[@]}")" >> "$SECTION"
done
python3 benches/loopback/section.py put first_packet < "$SECTION"
echo "saved to benches/loopback/RESULTS.md (section first_packet)" >&2
