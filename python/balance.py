"""Two processes withdraw 1 and deposit 1, --operations times each, from a balance of 100 in
shared memory (a multiprocessing.Value), with and without its Lock; prints one JSON object.
CPython beside `bank-balance`, as the original's sharedResource2.py and lockProcess.py.

Run by `cargo xtask measure` when python3 is on the PATH; on its own:
    python3 python/balance.py --operations 10000 --runs 3
"""

import argparse
import json
import multiprocessing
import time


def update(balance, step, operations, locked, took, slot):
    """One process's work: `operations` updates of `step`, each under the lock if `locked`;
    it times itself (waits for the lock included) into `took[slot]`, as bank-balance does."""
    start = time.perf_counter()
    for _ in range(operations):
        if locked:
            with balance.get_lock():
                balance.value += step
        else:
            # A read, then a write (Value locks each on its own): another update can land
            # between them and be lost.
            balance.value += step
    took[slot] = time.perf_counter() - start


def one_run(operations, locked):
    """Both processes at once on a fresh balance; returns (final balance, ns per update)."""
    balance = multiprocessing.Value("i", 100)  # comes with a lock, used only when asked
    took = multiprocessing.Array("d", 2, lock=False)
    workers = [
        multiprocessing.Process(target=update, args=(balance, step, operations, locked, took, i))
        for i, step in enumerate((-1, 1))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return balance.value, sum(took) * 1e9 / (2 * operations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=10_000, help="updates per process")
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant")
    args = parser.parse_args()
    result = {"operations": args.operations, "ns_per_op": {}}
    for name, locked in (("unsynchronized", False), ("locked", True)):
        runs = [one_run(args.operations, locked) for _ in range(args.runs)]
        result[name] = [balance for balance, _ in runs]
        result["ns_per_op"][name] = sum(ns for _, ns in runs) / len(runs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
