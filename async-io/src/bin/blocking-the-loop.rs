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
//!     the way to go for CPU-heavy work that rayon can split.
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

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use shared::cli::Common;
use shared::primes::count_primes;
use shared::report::{
    MainResult, Table, human_duration, ok_if_stdout_closed, out, print_json, thousands,
};
use tokio::time::{Instant, sleep, sleep_until};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let mut out = out();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    // tokio's `spawn_blocking` and rayon's pool panic where the OS refuses a thread: check
    // there is room for rayon's threads and one more, then start rayon's pool here.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    shared::limits::room_for_threads(cores + 1)?;
    rayon::ThreadPoolBuilder::new()
        .build_global()
        .context("starting rayon's threads (is a limit such as ulimit -u or -v too low?)")?;
    writeln!(
        out,
        "A heartbeat task ticks every {} on a current-thread runtime, while the primes below {} \
         are counted three ways.\n",
        human_duration(TICK),
        thousands(args.limit)
    )?;
    let mut table =
        Table::new(["where the count runs", "primes", "count took", "worst heartbeat delay"]);
    let mut worst = Vec::new();
    for (way, name) in [
        (Way::Inline, "inline in a task"),
        (Way::SpawnBlocking, "spawn_blocking"),
        (Way::Rayon, "rayon + oneshot"),
    ] {
        let (primes, took, late) = runtime.block_on(count_beside_heartbeat(way, args.limit));
        table.row([
            name.to_string(),
            thousands(primes),
            human_duration(took),
            human_duration(late),
        ]);
        worst.push((took, late));
    }
    writeln!(out, "{table}")?;
    let (job, inline) = worst[0];
    let others = worst[1].1.max(worst[2].1);
    if inline > others * 2 && inline > TICK {
        writeln!(
            out,
            "Counting inline stalled the heartbeat for {}: a task that does not reach an .await keeps\n\
             every other task on its thread waiting. With spawn_blocking and rayon its worst delay was {}\n\
             (it ticks every {}).",
            human_duration(inline),
            human_duration(others),
            human_duration(TICK)
        )?;
    } else {
        writeln!(
            out,
            "The count ({}) was too short to stall the heartbeat visibly; try a larger --limit.",
            human_duration(job)
        )?;
    }
    if args.common.json {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        print_json(&json!({
            "limit": args.limit, "job_ms": ms(job), "inline_ms": ms(inline),
            "spawn_blocking_ms": ms(worst[1].1), "rayon_ms": ms(worst[2].1),
        }))?;
    }
    Ok(())
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
}

/// How often the heartbeat wants to tick.
const TICK: Duration = Duration::from_millis(10);

/// Ticks every `TICK` until `stop` is set; returns how late its latest tick was, at worst.
async fn heartbeat(stop: Arc<AtomicBool>) -> Duration {
    let mut worst = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let due = Instant::now() + TICK;
        sleep_until(due).await;
        worst = worst.max(Instant::now() - due);
    }
    worst
}

#[derive(Debug, Clone, Copy)]
enum Way {
    Inline,
    SpawnBlocking,
    Rayon,
}

/// Counts the primes below `limit` the given way while the heartbeat ticks; returns the
/// count, how long it took, and the heartbeat's worst delay.
async fn count_beside_heartbeat(way: Way, limit: u64) -> (u64, Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let beat = tokio::spawn(heartbeat(stop.clone()));
    sleep(TICK * 3).await; // Let the heartbeat get going.
    let start = Instant::now();
    let primes = match way {
        // This version is problematic: no `.await` until the count is done.
        Way::Inline => count_primes(0..limit),
        Way::SpawnBlocking => tokio::task::spawn_blocking(move || count_primes(0..limit))
            .await
            .expect("the counting thread panicked"),
        Way::Rayon => {
            let (send, receive) = tokio::sync::oneshot::channel();
            rayon::spawn(move || {
                // Ignored: fails only if the receiving task is gone.
                let _ = send.send(count_primes(0..limit));
            });
            receive.await.expect("rayon dropped the job")
        }
    };
    let took = start.elapsed();
    sleep(TICK * 3).await; // Let the heartbeat tick after the work, too.
    stop.store(true, Ordering::Relaxed);
    (primes, took, beat.await.expect("the heartbeat panicked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The heartbeat cannot tick while the inline count holds the thread: its worst delay is
    /// at least the count's own time, less one tick. A property, not a timing.
    #[tokio::test]
    async fn inline_work_stalls_the_heartbeat() {
        let (primes, took, late) = count_beside_heartbeat(Way::Inline, 1_000_000).await;
        assert_eq!(primes, 78_498);
        assert!(late + TICK >= took, "late {late:?}, took {took:?}");
    }

    #[tokio::test]
    async fn every_way_counts_right() {
        for way in [Way::SpawnBlocking, Way::Rayon] {
            assert_eq!(count_beside_heartbeat(way, 100_000).await.0, 9_592);
        }
    }
}
