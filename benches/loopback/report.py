"""Markdown report for benches/loopback.sh: reads the TSV files the script wrote (paths and
facts in the environment) and prints every number of RESULTS.md."""

import os
import statistics

E = os.environ
GIB = float(1 << 30)
SERVERS = ["ours", "hpa", "atftpd", "rs"]
SNAME = {"ours": "ours", "hpa": "tftpd-hpa", "atftpd": "atftpd", "rs": "rs-tftpd"}
CLIENTS = ["curl512", "curl1468", "curl65464", "atftp-w1", "atftp-w8", "atftp-w32", "ours"]
CLABEL = {
    "curl512": "curl --tftp-blksize 512",
    "curl1468": "curl --tftp-blksize 1468",
    "curl65464": "curl --tftp-blksize 65464",
    "atftp-w1": "atftp blksize 1468 windowsize 1",
    "atftp-w8": "atftp blksize 1468 windowsize 8",
    "atftp-w32": "atftp blksize 1468 windowsize 32",
    "ours": "our tftp --blksize 1468 --windowsize 64",
}
big = int(E["BIG_SIZE"])

race = {}
for line in open(E["RACE"]):
    c, s, _r, secs, cpu = line.split("\t")
    race.setdefault((c, s), []).append((float(secs), int(cpu)))


def med(xs):
    return statistics.median(xs)


def cell(c, s):
    runs = race.get((c, s))
    if not runs:
        return None
    t = med([r[0] for r in runs])
    cpu = med([r[1] / 1e9 / (big / GIB) for r in runs])
    return {
        "t": t,
        "mbs": big / t / 1e6,
        "cpu": cpu,
        "n": len(runs),
        "lo": min(r[0] for r in runs),
        "hi": max(r[0] for r in runs),
    }


out = []
p = out.append
p("# End-to-end race on loopback (benches/loopback.sh)")
p("")
p(f"- date: {E['DATE_NOW']}; commit {E['GIT_REV']}; kernel {E['KERNEL']}")
import subprocess
_dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "examples", "Cargo.toml"],
                        capture_output=True, text=True).stdout.split("\n")
_dirty = [l[3:] for l in _dirty if l.strip()]
if _dirty:
    p(f"- working tree not clean at report time (built as it was at the start of the run): "
      f"{', '.join(_dirty)}")
p(f"- nproc: {E['NPROC']}; CPU: {E['CPU_MODEL']}")
p(f"- every server, client and relay pinned to CPU 0 (`taskset -c 0`); the timing wrapper "
  f"(`lbtool timeit`, polls every 500 us) runs on CPU {E['TIMER_CPU']}")
p(f"- server CPU: {E['CG_METHOD']}")
p(f"- file: {big} bytes ({int(E['SIZE_MIB'])} MiB) of random data on tmpfs (/dev/shm), "
  f"downloaded to tmpfs; every copy checked by size and SHA-256")
p(f"- rounds: {E['ROUNDS']} (curl blksize 512: {E['ROUNDS_512']}), servers alternating "
  f"ours, tftpd-hpa, atftpd, rs-tftpd within each client; the race took {E['RACE_SECS']} s")
p("- time: wall time from spawning the client until it exits (curl, atftp) or until the "
  "downloaded file is renamed into place (our client, which then dallies 1 s for a repeated "
  "final DATA; that dally is not counted). Our client fsyncs the file before the rename "
  "(tmpfs: cheap); curl and atftp do not.")
p("")
p("## Ratios (ours / peer; below 1 means ours is faster or cheaper)")
p("")
p("| client | time: ours / fastest peer | fastest peer | CPU: ours / tftpd-hpa | "
  "CPU: ours / atftpd | CPU: ours / rs-tftpd |")
p("|---|---|---|---|---|---|")
for c in CLIENTS:
    o = cell(c, "ours")
    if o is None:
        continue
    peers = [(s, cell(c, s)) for s in SERVERS[1:] if cell(c, s)]
    fs, f = min(peers, key=lambda x: x[1]["t"])
    cpu = []
    for s in SERVERS[1:]:
        x = cell(c, s)
        cpu.append(f"{o['cpu'] / x['cpu']:.2f}" if x else "n/a (no windowsize)")
    p(f"| {CLABEL[c]} | **{o['t'] / f['t']:.2f}** | {SNAME[fs]} ({f['t']:.3f} s) | "
      + " | ".join(cpu) + " |")
p("")
p("## Details (medians)")
p("")
p("| client | server | median s | MB/s | server CPU s/GiB | time ours/this | CPU ours/this | "
  "runs (min..max s) |")
p("|---|---|---|---|---|---|---|---|")
for c in CLIENTS:
    o = cell(c, "ours")
    for s in SERVERS:
        x = cell(c, s)
        if x is None:
            continue
        rt = "" if s == "ours" else f"{o['t'] / x['t']:.2f}"
        rc = "" if s == "ours" else f"{o['cpu'] / x['cpu']:.2f}"
        p(f"| {CLABEL[c]} | {SNAME[s]} | {x['t']:.3f} | {x['mbs']:.0f} | {x['cpu']:.2f} | "
          f"{rt} | {rc} | {x['n']} ({x['lo']:.3f}..{x['hi']:.3f}) |")
p("")

# Loss.
loss = {}
fails = {}
for line in open(E["LOSS"]):
    c, s, seed, secs, size, status = line.rstrip("\n").split("\t")
    if status == "ok":
        loss.setdefault((c, s), []).append((float(secs), int(size)))
    else:
        fails.setdefault((c, s), []).append(f"seed {seed}: {status} after {float(secs):.1f} s")
mib = 1 << 20
p("## Under 10% loss each way (seeded relay, tests/support/relay.rs)")
p("")
p(f"Median of {E['LOSS_RUNS']} runs (seeds 1..{E['LOSS_RUNS']}, the same seeds for every pair). "
  f"Against our server the file is 1 MiB. Against tftpd-hpa (1 s retransmission timeout) the file "
  f"is {int(E['SMALL_SIZE'])} bytes ({E['LOSS_HPA_KIB']} KiB) and its runs went at the same time, "
  f"each through its own relay; the '1 MiB equivalent' column scales that time linearly by "
  f"1 MiB / file size (lock-step: time grows with the block count). This part took "
  f"{E['LOSS_SECS']} s.")
p("")
p("| client | server | file bytes | median s (measured) | completed runs s | 1 MiB equivalent s "
  "| failed runs |")
p("|---|---|---|---|---|---|---|")
LC = {"hpa": "tftp-hpa `tftp -m binary` (512, lock-step, no options)",
      "ours-plain": "our tftp, no options (512, lock-step)"}
LS = {"ours": "ours", "hpaloss": "tftpd-hpa -T 1000000"}
eq = {}
for c in ["hpa", "ours-plain"]:
    for s in ["ours", "hpaloss"]:
        runs = loss.get((c, s))
        fl = "; ".join(fails.get((c, s), [])) or "0"
        if not runs:
            if (c, s) in fails:
                p(f"| {LC[c]} | {LS[s]} | | | none | | {fl} |")
            continue
        m = med([r[0] for r in runs])
        size = runs[0][1]
        eq[(c, s)] = m * mib / size
        p(f"| {LC[c]} | {LS[s]} | {size} | {m:.3f} | "
          f"{', '.join(f'{r[0]:.2f}' for r in runs)} | {eq[(c, s)]:.2f} | {fl} |")
p("")
for c in ["hpa", "ours-plain"]:
    if (c, "ours") in eq and (c, "hpaloss") in eq:
        r = eq[(c, "hpaloss")] / eq[(c, "ours")]
        verdict = "holds" if r >= 60 else "does NOT hold"
        p(f"- {LC[c]}: tftpd-hpa / ours = **{r:.1f}x** (1 MiB equivalents); target >= 60x "
          f"{verdict}.")
p("")

# Concurrency.
p("## Concurrency")
p("")
n = int(E["SWARM"])
p(f"{n} `Session::client_get` in one mio loop (`lbtool swarm`, blksize 1468, one UDP socket "
  f"each, into memory, compared byte for byte) downloading 1 MiB each from a fresh server of "
  f"ours, once per windowsize; memory is the server's peak RSS (VmHWM) divided by {n}:")
p("")
p("| windowsize | window bytes | total s | transfers/s | failures | server peak RSS | per session "
  "| per session above idle | under 64 KiB |")
p("|---|---|---|---|---|---|---|---|---|")
with open(E["SWARM_TSV"]) as f:
    for line in f:
        w, secs, rate, fails, hwm, idle = line.split()
        per = int(hwm) * 1024 / n
        above = (int(hwm) - int(idle)) * 1024 / n
        p(f"| {w} | {int(w) * 1468} | {float(secs):.3f} | {float(rate):.1f} | {fails} | {hwm} kB "
          f"| {per / 1000:.1f} kB | {above / 1000:.1f} kB | {'yes' if per < 65536 else 'no'} |")
p("")
p(f"{E['CURLS']} simultaneous `curl --tftp-blksize 1468` (background processes, 1 MiB each, all "
  f"pinned to CPU 0, every copy checked):")
p("")
p("| server | wall s | ours / this | failed curls |")
p("|---|---|---|---|")
conc = {}
for line in open(E["CONC"]):
    s, wall, fails = line.split("\t")
    conc[s] = (float(wall), int(fails))
for s in SERVERS:
    if s in conc:
        r = "" if s == "ours" else f"{conc['ours'][0] / conc[s][0]:.2f}"
        p(f"| {SNAME[s]} | {conc[s][0]:.3f} | {r} | {conc[s][1]} |")
p("")
p("## Commands")
p("")
p("```sh")
p("bash benches/loopback.sh   # the whole report (cargo build --release --examples first)")
p(f"# servers (ROOT = a tmpfs folder; each in its own cgroup, under taskset -c 0)")
for k in ["CMD_OURS", "CMD_HPA", "CMD_ATFTPD", "CMD_RS", "CMD_HPALOSS", "CMD_SWARMD"]:
    p(E[k])
p("# clients (each as: lbtool timeit [--until-file OUT] -- timeout 300 taskset -c 0 CLIENT)")
p("curl -sS -m 280 --tftp-blksize {512|1468|65464} -o OUT tftp://127.0.0.1:PORT/big.bin")
p('atftp --option "blksize 1468" --option "windowsize {1|8|32}" --option "tsize 0" '
  "-g -r big.bin -l OUT 127.0.0.1 PORT")
p("target/release/examples/tftp get 127.0.0.1:PORT big.bin OUT --blksize 1468 --windowsize 64")
p("# loss: target/release/examples/lbtool relay SERVER_PORT 0.10 SEED 900 (prints RELAY_PORT)")
p("tftp 127.0.0.1 RELAY_PORT -m binary -c get FILE OUT")
p("target/release/examples/tftp get 127.0.0.1:RELAY_PORT FILE OUT")
p("# concurrency")
p(E["SWARM_CMD"])
p("curl -sS -m 110 --tftp-blksize 1468 -o OUT_i tftp://127.0.0.1:PORT/mid.bin &  # x "
  + E["CURLS"] + ", then wait")
p("```")
print("\n".join(out))
