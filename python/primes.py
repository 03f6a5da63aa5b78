"""Counts the primes below --limit by trial division (the algorithm of `shared::primes`) three
ways in one run: on one thread, on a pool of threads, and on a pool of processes; prints the
times and the speedups as one JSON object. CPython beside `workers` and `pool`: its threads
take turns holding the GIL, so only the processes count in parallel.

Run by `cargo xtask measure` when python3 is on the PATH; on its own:
    python3 python/primes.py --limit 1000000
"""

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool


def is_prime(n):
    if n < 2:
        return False
    if n < 4:
        return True
    if n % 2 == 0:
        return False
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def count(bounds):
    low, high = bounds
    return sum(1 for n in range(low, high) if is_prime(n))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1_000_000, help="count the primes below N")
    args = parser.parse_args()
    workers = os.cpu_count() or 2
    # Many parts, so that the costlier high numbers spread over the workers.
    width = -(-args.limit // (8 * workers))
    parts = [(low, min(low + width, args.limit)) for low in range(0, args.limit, width)]

    # A warm-up pass, untimed: the first pass runs measurably slower (CPython specialises
    # its bytecode as it goes), which would flatter whichever way came second.
    sum(map(count, parts))
    start = time.perf_counter()
    primes = sum(map(count, parts))
    sequential = time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as threads:
        by_threads = sum(threads.map(count, parts))
    threaded = time.perf_counter() - start

    start = time.perf_counter()
    with Pool(workers) as processes:
        by_processes = sum(processes.map(count, parts))
    pooled = time.perf_counter() - start

    assert primes == by_threads == by_processes, "the counts differ"
    print(json.dumps({
        "limit": args.limit, "workers": workers, "primes": primes,
        "sequential_s": sequential, "threads_s": threaded, "processes_s": pooled,
        "threads_speedup": sequential / threaded, "processes_speedup": sequential / pooled,
    }))


if __name__ == "__main__":
    main()
