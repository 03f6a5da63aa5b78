//! Sharing state between tasks: `Arc<Mutex<_>>` — std's or tokio's — and `JoinSet` to wait
//! for every task and collect what each returns.
//!
//! 1. Tasks on the multi-thread runtime add to one counter in an `Arc<std::sync::Mutex<u64>>`.
//!    std's `Mutex` is the right one when the lock is held only for a quick update and
//!    released *before* the next `.await` — the common case, and the cheaper lock.
//! 2. When the lock must be held *across* an `.await` (here: each task keeps a shared log
//!    in order while it "writes" it, which takes a simulated wait), use `tokio::sync::Mutex`:
//!    waiting for it is itself an `.await`, so other tasks run meanwhile. A std guard held
//!    across an `.await` does not even compile in a spawned task ("future cannot be sent
//!    between threads safely"): the crate's `lib.rs` has that as a `compile_fail` doctest.
//! 3. `JoinSet` spawns tasks and hands back their results as they finish.
//!
//! Mirrors: nothing in the Python original; `asyncio.Lock` and `asyncio.gather` are Python's
//! counterparts (an asyncio lock is always the async kind).
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin shared-state
//! cargo run -p asyncio --bin shared-state -- --tasks 100
//! ```
//!
//! The output ends like this (times vary):
//!
//! ```text
//! 3. JoinSet: 10 tasks squared their numbers; the results came back as each task finished
//!    (100, 81, 64, 49, 36, …), in all 385.
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use asyncio::reports::SharedState;
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::waits::TimeScale;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let (tasks, scale) = (args.tasks, args.common.time_scale);
    // tokio panics, then hangs, if the OS refuses one of its worker threads: check first.
    shared::limits::room_for_a_thread_per_core()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_time().build()?;
    let mut report = SharedState::announce(tasks)?;

    let total = runtime.block_on(with_std_mutex(tasks));
    report.std_mutex(total)?;
    // Half a second of "writing" in all, whatever the number of tasks.
    let write = scale.secs(0.5 / f64::from(tasks));
    let (entries, took) = runtime.block_on(with_tokio_mutex(tasks, write));
    report.tokio_mutex(entries.len(), took, write)?;
    let results = runtime.block_on(collect_with_joinset(tasks, scale));
    Ok(report.joinset(&results, args.common.json)?)
}

/// Part 1: each task adds 1,000 to a std `Mutex` counter, one at a time, never holding the
/// guard across an `.await`.
async fn with_std_mutex(tasks: u32) -> u64 {
    let total = Arc::new(Mutex::new(0));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let total = total.clone();
        set.spawn(async move {
            for _ in 0..1_000 {
                // The guard is a temporary, dropped at the end of this statement: it never
                // reaches the `.await` below. (`let guard = total.lock()` would keep it.)
                *total.lock().expect("counter lock poisoned") += 1;
                tokio::task::yield_now().await; // Let other tasks in, as real I/O would.
            }
        });
    }
    set.join_all().await; // A `JoinSet` (part 3) waits here for every task it spawned.
    *total.lock().expect("counter lock poisoned")
}

/// Part 2: each task appends to a shared log and keeps it locked while it "writes" (a wait):
/// the guard lives across an `.await`, so the lock is tokio's. Returns the log and the time.
async fn with_tokio_mutex(tasks: u32, write: Duration) -> (Vec<u32>, Duration) {
    let log = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut set = JoinSet::new();
    for task in 0..tasks {
        let log = log.clone();
        set.spawn(async move {
            let mut entries = log.lock().await; // Waiting for the lock is an `.await` too.
            // The "write" of this entry, lock held, so no two writes interleave: the guard
            // lives across this `.await`, which only tokio's Mutex allows in a spawned task.
            sleep(write).await;
            entries.push(task);
        });
    }
    set.join_all().await;
    let entries = log.lock().await.clone();
    (entries, start.elapsed())
}

/// Part 3, `JoinSet`: spawn tasks that return values, and take each result as it comes.
async fn collect_with_joinset(tasks: u32, scale: TimeScale) -> Vec<u64> {
    let mut set = JoinSet::new();
    for n in 1..=u64::from(tasks) {
        // Later tasks wait less, so they finish first (0.1 s in all, whatever the count).
        let wait = scale.secs(0.1 * (tasks as f64 - n as f64) / tasks as f64);
        set.spawn(async move {
            sleep(wait).await;
            n * n
        });
    }
    let mut results = Vec::new();
    while let Some(result) = set.join_next().await {
        results.push(result.expect("a task panicked"));
    }
    results
}

/// Share a counter between tasks with std's and tokio's Mutex, and collect results with JoinSet.
#[derive(Debug, Parser)]
struct Args {
    /// How many tasks share the state
    #[arg(long, value_name = "N≤1000", default_value = "10",
          value_parser = shared::cli::whole::<u32>(1..=1_000))]
    tasks: u32,
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_std_mutex_counter_is_exact() {
        assert_eq!(with_std_mutex(20).await, 20_000);
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_mutex_makes_the_writers_take_turns() {
        let (mut entries, took) = with_tokio_mutex(5, Duration::from_millis(100)).await;
        assert_eq!(took, Duration::from_millis(500));
        entries.sort();
        assert_eq!(entries, [0, 1, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn joinset_returns_every_result_as_it_finishes() {
        let results = collect_with_joinset(4, TimeScale::REAL).await; // Waits 75, 50, 25, 0 ms.
        assert_eq!(results, [16, 9, 4, 1]);
    }
}
