//! One thread, one event loop, 100,000 tasks waiting at once — in about the time of one wait.
//!
//! Every task sleeps `--wait-ms` (a stand-in for a network call) and then reports which thread
//! it finished on. On tokio's current-thread runtime there is exactly one thread: its event loop
//! polls whichever tasks are ready, and while they all wait it asks the OS for the next timer
//! or socket event and sleeps. A waiting task is just a small struct in memory — no stack, no
//! thread — so 100,000 waits of 1 s overlap and take about 1 s in all. The program measures
//! the process's resident memory while every task waits, and divides the growth by the tasks.
//!
//! With `--flavor multi`, tokio's multi-thread runtime runs the same tasks on one worker
//! thread per core: the waits overlap just the same, the tasks are spread over the threads.
//!
//! Mirrors: the event loop of the Python original's `asyncIO.md` (one thread, many tasks).
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin event-loop
//! cargo run -p asyncio --bin event-loop -- --flavor multi --tasks 10000
//! ```
//!
//! The output ends like this on 2 cores (timings and memory vary):
//!
//! ```text
//! 100,000 waits of 1.00 s took 1.11 s in all, on 1 thread: they overlapped.
//! Each waiting task took about 464 bytes; an OS thread takes a stack (see tasks-vs-threads).
//! ```

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use anyhow::Result;
use asyncio::reports::{EventLoopPlan, Waited};
use asyncio::resident_bytes;
use clap::{Parser, ValueEnum};
use shared::cli::{Common, spelled};
use shared::report::{MainResult, ok_if_stdout_closed};
use tokio::time::{Instant, sleep}; // tokio's clock, which a test can pause.

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let wait = args.common.time_scale.scaled(Duration::from_millis(args.wait_ms.into()));
    // The choice the example is about: one thread's event loop, or one loop per core.
    let runtime = match args.flavor {
        Flavor::Current => tokio::runtime::Builder::new_current_thread().enable_time().build()?,
        Flavor::Multi => {
            // tokio panics, then hangs, if the OS refuses one of its worker threads: check first.
            shared::limits::room_for_a_thread_per_core()?;
            tokio::runtime::Builder::new_multi_thread().enable_time().build()?
        }
    };
    let plan = EventLoopPlan { tasks: args.tasks, wait, flavor: spelled(&args.flavor) };
    plan.announce()?;
    let waited = runtime.block_on(wait_many(args.tasks, wait));
    Ok(plan.report(&waited, args.common.json)?)
}

/// Spawns `tasks` tasks that each wait `wait` and say which thread they finished on (on the
/// multi-thread runtime a task can move between threads at an `.await`); measures the
/// process's memory while they all wait.
async fn wait_many(tasks: u32, wait: Duration) -> Waited {
    let memory_before = resident_bytes();
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            tokio::spawn(async move {
                sleep(wait).await;
                thread::current().id()
            })
        })
        .collect();
    // Halfway through the wait every task has been spawned, its state allocated (with the
    // default wait, all are asleep by then): measure the memory they hold.
    sleep(wait / 2).await;
    let memory_during = resident_bytes();
    let mut threads = HashSet::new();
    for handle in handles {
        threads.insert(handle.await.expect("a task panicked"));
    }
    Waited { elapsed: start.elapsed(), threads, memory_before, memory_during }
}

/// Run many concurrent waits on one thread's event loop, and measure time and memory.
#[derive(Debug, Parser)]
struct Args {
    /// How many tasks wait at once
    #[arg(long, value_name = "N≤1000000", default_value = "100000",
          value_parser = shared::cli::whole::<u32>(1..=1_000_000))]
    tasks: u32,
    /// How long each task waits, in milliseconds (scaled by --time-scale)
    #[arg(long, value_name = "MS≤60000", default_value = "1000",
          value_parser = shared::cli::whole::<u32>(0..=60_000))]
    wait_ms: u32,
    /// The tokio runtime: one thread, or one worker thread per core
    #[arg(long, value_enum, default_value_t = Flavor::Current)]
    flavor: Flavor,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Flavor {
    Current,
    Multi,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: 1,000 one-second waits end after exactly one second, on one thread.
    #[tokio::test(start_paused = true)]
    async fn all_waits_overlap_on_one_thread() {
        let waited = wait_many(1_000, Duration::from_secs(1)).await;
        assert_eq!(waited.elapsed, Duration::from_secs(1));
        assert_eq!(waited.threads, HashSet::from([thread::current().id()]));
    }
}
