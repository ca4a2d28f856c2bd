"""Import fuzzing over more seeds than the test runs: how many mutated files are refused, accepted,
and how many broke anything (the answer must stay 0).

It runs `tests/test_transfer_fuzz.py`'s loop: valid exports of three real threads (tool calls and
results, a pending approval, a fork with a branch head) mutated (fields deleted, wrong types, ids
swapped, lines and lists reordered, huge values, odd unicode, truncation), each imported, and every
accepted thread opened everywhere the Inspector and the Chat look, exported and imported again.

Run: .venv/bin/python bench/transfer_fuzz.py [--cases 3000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent  # noqa: F401  (sets strict msgpack before LangGraph loads)
from tests import netguard
from tests.engine_fixtures import make_harness
from tests.test_transfer_fuzz import SEED, build_exports, fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000, help="mutated files per seed")
    parser.add_argument("--seeds", type=int, default=3, help="seeds, starting at the test's")
    args = parser.parse_args()
    netguard.install()  # the fakes only: nothing here needs the network
    broken = 0
    with tempfile.TemporaryDirectory() as folder:
        h = make_harness(Path(folder), "sync")
        try:
            exports = build_exports(h)
            for seed in range(SEED, SEED + args.seeds):
                started, cpu = time.perf_counter(), time.process_time()
                accepted, problems = fuzz(h.backend, exports, args.cases, seed)
                broken += len(problems)
                print(
                    f"seed {seed}: {args.cases} files, {args.cases - accepted} refused, "
                    f"{accepted} accepted, {len(problems)} problems; "
                    f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU)"
                )
                for problem in problems[:20]:
                    print("   ", problem)
        finally:
            h.backend.close()
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
