"""Keeps one core busy, as an import's stand-in (``web_load.py --stand-in``): what any
sustained CPU work beside the server does to its reads, whatever the work is.

    .venv/bin/python bench/spin.py 4               # one core, 4 s, flat out
    .venv/bin/python bench/spin.py 6 --duty 0.5    # 10 ms busy, 10 ms asleep, for 6 s
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", type=float)
    parser.add_argument("--duty", type=float, default=1.0, help="busy share of each period")
    parser.add_argument("--period", type=float, default=0.02, help="seconds")
    args = parser.parse_args()
    busy, rest = args.period * args.duty, args.period * (1 - args.duty)
    end = time.perf_counter() + args.seconds
    while (now := time.perf_counter()) < end:
        until = now + busy if rest > 0 else end
        while time.perf_counter() < until:
            pass
        if rest > 0:
            time.sleep(rest)


if __name__ == "__main__":
    main()
