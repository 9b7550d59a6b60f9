"""Start-up time of the command line against ``python -c "import numpy"`` (issue 12).

Runs each command ``--repeat`` times (default 7) in a fresh interpreter, alternating
them so that load changes hit all alike, and prints the best and median wall times,
the ratio of the best times to the numpy import (the peer measured in the same run)
and the load average.  The issue asks for at most 3x for ``lightcomp --help`` and
``lightcomp code validate CODE``.

    python benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CODE = "LC1-1-EG-M0042-40-8-F31-A-0007-000000006-K"
COMMANDS = {
    'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
    "lightcomp --help": [sys.executable, "-c", "import sys; from lightcomp.cli import main; "
                         "sys.exit(main(['--help']))"],
    f"lightcomp code validate {CODE}": [
        sys.executable, "-c",
        f"import sys; from lightcomp.cli import main; sys.exit(main(['code', 'validate', '{CODE}']))",
    ],
}  # fmt: skip


def _once(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache once
        _once(argv)
    for _ in range(args.repeat):
        for name, argv in COMMANDS.items():
            times[name].append(_once(argv))
    peer = min(times['python -c "import numpy"'])
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), {args.repeat} runs each")
    for name, t in times.items():
        ratio = min(t) / peer
        print(
            f"{name:70s} best {1e3 * min(t):7.0f} ms  median {1e3 * statistics.median(t):7.0f} ms"
            f"  ratio {ratio:4.2f}"
        )


if __name__ == "__main__":
    main()
