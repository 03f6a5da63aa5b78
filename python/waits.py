"""Starts --tasks asyncio tasks that each sleep --wait seconds on one event loop, and times
them all; prints one JSON object. CPython beside `event-loop`.

Run by `cargo xtask measure` when python3 is on the PATH; on its own:
    python3 python/waits.py --tasks 100000 --wait 1
"""

import argparse
import asyncio
import json
import time


async def wait_many(tasks, wait):
    start = time.perf_counter()
    await asyncio.gather(*(asyncio.sleep(wait) for _ in range(tasks)))
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="how many tasks wait at once")
    parser.add_argument("--wait", type=float, default=1.0, help="seconds each task waits")
    args = parser.parse_args()
    elapsed = asyncio.run(wait_many(args.tasks, args.wait))
    print(json.dumps({"tasks": args.tasks, "wait_s": args.wait, "elapsed_s": elapsed}))


if __name__ == "__main__":
    main()
