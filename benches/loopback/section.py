#!/usr/bin/env python3
"""Keeps the figures of the loopback benches together in benches/loopback/RESULTS.md.

The race (benches/loopback.sh) writes the file whole; the smaller benches each own one
section of it, between `<!-- begin NAME -->` and `<!-- end NAME -->`:

    section.py put NAME          # stdin becomes section NAME (replaced, or appended)
    section.py carry OLD NEW     # NEW (the race's fresh report) gets OLD's sections back

so a new race keeps the last syscalls.sh and first_packet.sh figures, and a new run of one
of those replaces only its own.
"""

import re
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = re.compile(r"<!-- begin (\S+) -->\n.*?<!-- end \1 -->\n", re.S)


def wrap(name: str, body: str) -> str:
    return f"<!-- begin {name} -->\n{body.rstrip()}\n<!-- end {name} -->\n"


def put(name: str, body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else ""
    block = wrap(name, body)
    m = next((m for m in SECTION.finditer(text) if m.group(1) == name), None)
    if m:
        text = text[: m.start()] + block + text[m.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def carry(old: Path, new: Path) -> None:
    old_text = old.read_text() if old.exists() else ""
    blocks = [m.group(0) for m in SECTION.finditer(old_text)]
    text = new.read_text().rstrip("\n") + "\n"
    for block in blocks:
        text += "\n" + block
    new.write_text(text)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "put":
        put(sys.argv[2], sys.stdin.read())
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "carry":
        carry(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
