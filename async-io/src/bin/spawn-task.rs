//! On a current-thread runtime, a spawned task does not start until its spawner waits.
//!
//! `first` prints "one", spawns `second`, and prints "four": the new task is only queued, and
//! the one thread of a current-thread runtime is `first`'s until its first `.await` (a 1 s
//! sleep). Then `second` starts: "two", a 2 s sleep; "five" at 1 s, "three" at 2 s. The
//! sleeps overlap on one thread. With `--multi-thread` another worker may start `second` at
//! once ("two" before "four"): the order is the scheduler's, not `spawn`'s. Last, what a task
//! costs: the median time to spawn and await an empty one, of 10,000 tries.
//!
//! Mirrors: `asyncIo2.py` (`asyncio.create_task`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin spawn-task
//! cargo run -p asyncio --bin spawn-task -- --multi-thread
//! ```
//!
//! Expected output (the first line names the runtime and the `--time-scale` factor):
//!
//! ```text
//! Runtime: current-thread; time scale 1
//!
//!   0.00 s  one
//!   0.00 s  four
//!   0.00 s  two
//!   1.00 s  five
//!   2.00 s  three
//!
//! Order: one, four, two, five, three. Total: 2.00 s for waits of 1.00 s and 2.00 s: they overlapped for 1.00 s.
//! "four" came before "two": with one thread, the task could start only at `first`'s first .await.
//! ```

use std::io;
use std::time::{Duration, Instant};

use anyhow::Result;
use asyncio::Log;
use asyncio::reports::SpawnTask;
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::waits::TimeScale;
use tokio::time::sleep;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    shared::report::warn_if_unoptimized();
    let scale = args.common.time_scale;
    let (runtime, name) = if args.multi_thread {
        // tokio panics, then hangs, if the OS refuses one of its worker threads: check first.
        shared::limits::room_for_a_thread_per_core()?;
        (tokio::runtime::Builder::new_multi_thread().enable_time().build()?, "multi-thread")
    } else {
        (tokio::runtime::Builder::new_current_thread().enable_time().build()?, "current-thread")
    };
    let mut report = SpawnTask::announce(name, scale)?;

    let log = Log::new();
    runtime.block_on(first(log.clone(), scale))?;
    report.order(&log)?;
    // What one task costs: after the order, so that it changes nothing above.
    let median = runtime.block_on(spawn_and_await(ROUNDS))?;
    Ok(report.task_cost(median, ROUNDS, args.common.json)?)
}

/// Prints "one", spawns `second`, prints "four", sleeps 1 s, prints "five", then awaits
/// `second`.
async fn first(log: Log, scale: TimeScale) -> io::Result<()> {
    log.say("one")?;
    // On a current-thread runtime the new task is only queued: this task holds the one
    // thread, and nothing else runs until it reaches an `.await` that has to wait.
    let task = tokio::spawn(second(log.clone(), scale));
    log.say("four")?;
    // Here the runtime gets the thread back and starts `second`.
    sleep(scale.secs(1.0)).await;
    log.say("five")?;
    task.await.expect("the spawned task panicked")
}

/// Prints "two", sleeps 2 s, prints "three".
async fn second(log: Log, scale: TimeScale) -> io::Result<()> {
    log.say("two")?;
    sleep(scale.secs(2.0)).await;
    log.say("three")
}

/// Rounds of `spawn_and_await`.
const ROUNDS: usize = 10_000;

/// Spawns an empty task and awaits it, `rounds` times: the median of how long each took.
async fn spawn_and_await(rounds: usize) -> Result<Duration> {
    let mut took = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        tokio::spawn(async {}).await?;
        took.push(start.elapsed());
    }
    took.sort();
    Ok(took[rounds / 2])
}

/// Show when a spawned task actually starts running.
#[derive(Debug, Parser)]
struct Args {
    /// Use tokio's multi-threaded runtime instead of the current-thread one
    #[arg(long)]
    multi_thread: bool,
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: sleeps complete instantly, and the clock jumps by exactly their length.
    #[tokio::test(start_paused = true)]
    async fn current_thread_order_and_times() {
        let log = Log::new();
        first(log.clone(), TimeScale::REAL).await.unwrap();
        let secs = |s| Duration::from_secs(s);
        let events = log.events();
        let events: Vec<(&str, Duration)> = events.iter().map(|(e, t)| (e.as_str(), *t)).collect();
        assert_eq!(
            events,
            [
                ("one", secs(0)),
                ("four", secs(0)),
                ("two", secs(0)),
                ("five", secs(1)),
                ("three", secs(2))
            ]
        );
    }
}
