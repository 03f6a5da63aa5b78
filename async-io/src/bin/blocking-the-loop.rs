//! CPU work inside an async task stalls every other task on its thread — and two ways out.
//!
//! A heartbeat task wants to tick every 10 ms and records how late each tick is. Meanwhile
//! the primes below `--limit` are counted, three ways, on a current-thread runtime:
//!
//! (a) inline, in a task: the count never reaches an `.await`, so it holds the only thread
//!     and the heartbeat cannot tick until it is done — its worst delay is the whole count;
//! (b) in `tokio::task::spawn_blocking`: tokio runs it on a separate thread kept for blocking
//!     work, and the task awaits the result — the event loop stays free;
//! (c) on rayon's pool, with the result sent back through a `tokio::sync::oneshot` channel —
//!     the way to go for CPU-heavy work, which rayon can also split over the cores.
//!
//! Mirrors: nothing in the Python original; it is what its readers hit next (a blocking call
//! in `async def` stalls the event loop just the same; `asyncio.to_thread` is the way out).
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin blocking-the-loop
//! cargo run -p asyncio --bin blocking-the-loop -- --limit 5000000
//! ```
//!
//! The output ends like this (timings vary):
//!
//! ```text
//! Counting inline stalled the heartbeat for 181 ms: a task that does not reach an .await keeps
//! every other task on its thread waiting. With spawn_blocking and rayon its worst delay was 1.08 ms
//! (it ticks every 10.0 ms).
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use asyncio::reports::{BlockingReport, CountRun, Tick};
use clap::Parser;
use shared::cli::{Common, Trace};
use shared::limits::CANNOT_START_THREADS;
use shared::primes::count_primes;
use shared::report::{MainResult, ok_if_stdout_closed};
use tokio::time::{Instant, sleep, sleep_until};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    start_rayon()?;
    let mut report = BlockingReport::announce(TICK, args.limit)?;
    // In this order: the report names the rows so.
    for way in [Way::Inline, Way::SpawnBlocking, Way::Rayon] {
        let counted = runtime.block_on(count_beside_heartbeat(way, args.limit));
        report.add(&counted);
    }
    report.finish(&args.trace, args.common.json)
}

/// How often the heartbeat wants to tick.
const TICK: Duration = Duration::from_millis(10);

/// Ticks every `TICK` until `stop` is set; returns when each tick was due and when it came.
async fn heartbeat(stop: Arc<AtomicBool>) -> Vec<Tick> {
    let mut ticks = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let due = Instant::now() + TICK;
        sleep_until(due).await;
        ticks.push(Tick { due, came: Instant::now() });
    }
    ticks
}

#[derive(Debug, Clone, Copy)]
enum Way {
    Inline,
    SpawnBlocking,
    Rayon,
}

/// Counts the primes below `limit` the given way while the heartbeat ticks.
async fn count_beside_heartbeat(way: Way, limit: u64) -> CountRun {
    let stop = Arc::new(AtomicBool::new(false));
    let beat = tokio::spawn(heartbeat(stop.clone()));
    sleep(TICK * 3).await; // Let the heartbeat get going.
    let start = Instant::now();
    let primes = match way {
        // Holds the runtime's only thread: `count_primes` never reaches an `.await`, so the
        // heartbeat cannot tick until it returns.
        Way::Inline => count_primes(0..limit),
        Way::SpawnBlocking => tokio::task::spawn_blocking(move || count_primes(0..limit))
            .await
            .expect("the counting thread panicked"),
        Way::Rayon => {
            // One job, to compare like with like; `par_iter` inside it would split the count
            // over rayon's threads.
            let (send, receive) = tokio::sync::oneshot::channel();
            rayon::spawn(move || {
                // Ignored: fails only if the receiving task is gone.
                let _ = send.send(count_primes(0..limit));
            });
            receive.await.expect("rayon dropped the job")
        }
    };
    let counting = start..Instant::now();
    sleep(TICK * 3).await; // Let the heartbeat tick after the work, too.
    stop.store(true, Ordering::Relaxed);
    CountRun { primes, counting, ticks: beat.await.expect("the heartbeat panicked") }
}

/// Starts rayon's global pool, a thread per core, for the third way; checks first that the
/// OS leaves room for those threads and for spawn_blocking's.
fn start_rayon() -> Result<()> {
    shared::limits::room_for_threads(shared::limits::cores() + 1)?;
    rayon::ThreadPoolBuilder::new().build_global().context(CANNOT_START_THREADS)
}

/// Run CPU work inline, in spawn_blocking and on rayon, and watch a heartbeat task stall.
#[derive(Debug, Parser)]
struct Args {
    /// The CPU work: count the primes below N
    #[arg(long, value_name = "N≤100000000", default_value = "2000000",
          value_parser = shared::cli::whole::<u64>(1..=100_000_000))]
    limit: u64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The heartbeat cannot tick while the inline count holds the thread: its worst delay is
    /// at least the count's own time, less one tick. A property, not a timing.
    #[tokio::test]
    async fn inline_work_stalls_the_heartbeat() {
        let run = count_beside_heartbeat(Way::Inline, 1_000_000).await;
        let (took, late) = (run.took(), run.worst_delay());
        assert_eq!(run.primes, 78_498);
        assert!(late + TICK >= took, "late {late:?}, took {took:?}");
        // A tick was due before the count ended and came only after it: it waited for it.
        let waited =
            run.ticks.iter().any(|t| t.due < run.counting.end && t.came >= run.counting.end);
        assert!(waited, "{run:?}");
    }

    #[tokio::test]
    async fn every_way_counts_right() {
        for way in [Way::SpawnBlocking, Way::Rayon] {
            assert_eq!(count_beside_heartbeat(way, 100_000).await.primes, 9_592);
        }
    }
}
