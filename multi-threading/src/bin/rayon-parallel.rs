//! Data parallelism with rayon: change `iter` to `par_iter`, and the work spreads over the
//! cores — no threads, channels or jobs to manage. It pays only when there is enough work.
//!
//! The primes below `--limit` are counted on one thread; with `par_iter`; with `rayon::join`
//! (split in two, count both halves in parallel, recurse); and with `workers`' hand-made
//! channel. rayon balances its pieces by *work stealing*: an idle thread takes pieces from a
//! busy one's queue. On a tiny input (`--tiny`), waking the threads costs more than the work.
//!
//! Mirrors: nothing in the Python original, which could not run threads in parallel.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin rayon-parallel
//! cargo run -p multi-threading --bin rayon-parallel -- --limit 2000000 --tiny 100
//! ```
//!
//! The output ends like this on 2 cores (timings vary, and so do the sentences):
//!
//! ```text
//! run                elapsed  speedup
//! -----------------  -------  -------
//! sequential          1.79 s    1.00×
//! par_iter            924 ms    1.94×
//! rayon::join         921 ms    1.94×
//! channel + threads   928 ms    1.93×
//!
//! par_iter, by changing one word of the code: 1.94× is close to the ideal 2×: the rayon threads kept 2 cores busy at the same time.
//! Below 1,000 it was slower: 1.90 µs on one thread, 23.4 µs with par_iter. Parallelism pays only at scale.
//! ```

use std::ops::Range;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use crossbeam::channel;
use multi_threading::reports::{Large, RayonTimes, Tiny, rayon_parallel, rayon_parallel_plan};
use rayon::prelude::*;
use shared::cli::Common;
use shared::limits::CANNOT_START_THREADS;
use shared::primes::{count_primes, is_prime, split_balanced};
use shared::report::{MainResult, load_average, ok_if_stdout_closed, timed};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

/// `par_iter`: the same `filter` and `count` as the sequential `count_primes`
/// (`range.filter(|&n| is_prime(n)).count()`), on a parallel iterator: `into_par_iter()`.
fn count_par_iter(range: Range<u64>) -> u64 {
    range.into_par_iter().filter(|&n| is_prime(n)).count() as u64
}

/// `rayon::join`: split in two, count both halves in parallel, recurse down to small pieces.
fn count_join(range: Range<u64>) -> u64 {
    if range.end - range.start <= SEQUENTIAL_UP_TO {
        return count_primes(range);
    }
    let middle = range.start + (range.end - range.start) / 2;
    let (left, right) =
        rayon::join(|| count_join(range.start..middle), || count_join(middle..range.end));
    left + right
}

/// The hand-made way of `workers`: threads pull balanced jobs from a channel.
fn count_channel(range: Range<u64>, threads: usize) -> std::io::Result<u64> {
    let (job_tx, job_rx) = channel::unbounded();
    for job in split_balanced(range, 8 * threads) {
        job_tx.send(job).expect("job_rx is alive");
    }
    drop(job_tx); // Each worker's loop ends when the queue is empty.
    thread::scope(|s| {
        // `Builder::spawn_scoped` returns the error where `s.spawn` would panic: the OS may
        // refuse a thread, with rayon's threads already running. `count` only borrows
        // `job_rx`, so the one closure can be handed to every thread.
        let count = || job_rx.iter().map(count_primes).sum::<u64>();
        let workers = (0..threads).map(|_| thread::Builder::new().spawn_scoped(s, count));
        let workers: Vec<_> = workers.collect::<Result<_, _>>()?;
        Ok(workers.into_iter().map(|w| w.join().expect("a worker panicked")).sum())
    })
}

fn run(args: &Args) -> Result<()> {
    let limit = args.limit;
    let load = load_average(); // Before we add to it.
    // Start rayon's global pool now, outside the timings; `build_global` returns the error
    // where the pool's first use would panic (the OS refused a thread).
    rayon::ThreadPoolBuilder::new().build_global().context(CANNOT_START_THREADS)?;
    let threads = rayon::current_num_threads();
    rayon_parallel_plan(limit, threads)?;

    let (primes, sequential_time) = timed(|| count_primes(0..limit));
    let (by_channel, channel_time) = timed(|| count_channel(0..limit, threads));
    let (by_par_iter, par_iter_time) = timed(|| count_par_iter(0..limit));
    let (by_join, join_time) = timed(|| count_join(0..limit));
    let by_channel = by_channel.context(CANNOT_START_THREADS)?;
    let counts = [by_channel, by_par_iter, by_join];
    ensure!(counts == [primes; 3], "channel, par_iter and join counted {counts:?}, not {primes}");
    let large = Large {
        primes,
        sequential: sequential_time,
        channel: channel_time,
        par_iter: par_iter_time,
        join: join_time,
    };
    // The tiny input: time many runs and keep the median, each is only microseconds.
    let below = args.tiny;
    let alone = median_time(201, || count_primes(0..below));
    let with_par_iter = median_time(201, || count_par_iter(0..below));
    let tiny = Tiny { below, alone, rayon: with_par_iter };
    Ok(rayon_parallel(&RayonTimes { limit, threads, load, large, tiny }, args.common.json)?)
}

/// Up to this many numbers, `count_join` counts on: splitting further costs more than it saves.
const SEQUENTIAL_UP_TO: u64 = 10_000;

/// The median time of `runs` runs of `count` (for inputs too small to time once).
fn median_time(runs: usize, count: impl Fn() -> u64) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| timed(&count).1).collect();
    times.sort();
    times[runs / 2]
}

/// Count primes with rayon's par_iter and join, against one thread and a hand-made channel.
#[derive(Debug, Parser)]
struct Args {
    /// Count the primes below N (4,000,000,000 takes minutes)
    #[arg(long, value_name = "N≤4000000000", default_value = "10000000",
          value_parser = shared::cli::whole::<u64>(1..=4_000_000_000))]
    limit: u64,
    /// The tiny input, where parallelism does not pay: the primes below N
    #[arg(long, value_name = "N≤1000000", default_value = "1000",
          value_parser = shared::cli::whole::<u64>(1..=1_000_000))]
    tiny: u64,
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_finds_the_known_counts() {
        for (range, expected) in [(0..100_000, 9_592), (0..10, 4), (5..5, 0), (0..1_000, 168)] {
            assert_eq!(count_par_iter(range.clone()), expected);
            assert_eq!(count_join(range.clone()), expected);
            assert_eq!(count_channel(range, 3).unwrap(), expected);
        }
    }
}
