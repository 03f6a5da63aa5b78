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
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use shared::cli::{Common, Trace};
use shared::primes::count_primes;
use shared::report::{MainResult, Table, heartbeat_verdict, human_duration};
use shared::report::{ok_if_stdout_closed, out, print_json, thousands};
use shared::timeline::Timeline;
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
    let (mut worst, timeline) = (Vec::new(), Timeline::new());
    for (way, name) in [
        (Way::Inline, "inline in a task"),
        (Way::SpawnBlocking, "spawn_blocking"),
        (Way::Rayon, "rayon + oneshot"),
    ] {
        let run = runtime.block_on(count_beside_heartbeat(way, args.limit));
        let (took, late) = (run.took(), run.worst_delay());
        table.row([name.into(), thousands(run.primes), human_duration(took), human_duration(late)]);
        worst.push((took, late));
        draw(&timeline, way, &run);
    }
    writeln!(out, "{table}")?;
    let (job, inline) = worst[0];
    let verdict = heartbeat_verdict(TICK, job, inline, worst[1].1.max(worst[2].1));
    writeln!(out, "{verdict}")?;
    args.trace.write(&timeline)?;
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
    #[command(flatten)]
    trace: Trace,
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

/// One tick of the heartbeat: late by `came - due`.
#[derive(Debug, Clone, Copy)]
struct Tick {
    due: Instant,
    came: Instant,
}

/// One count beside the heartbeat: the count, when it ran, and the heartbeat's ticks.
#[derive(Debug)]
struct CountRun {
    primes: u64,
    count: Range<Instant>,
    ticks: Vec<Tick>,
}

impl CountRun {
    fn took(&self) -> Duration {
        self.count.end - self.count.start
    }

    /// How late the heartbeat's latest tick was, at worst.
    fn worst_delay(&self) -> Duration {
        self.ticks.iter().map(|tick| tick.came - tick.due).max().unwrap_or_default()
    }
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
    let count = start..Instant::now();
    sleep(TICK * 3).await; // Let the heartbeat tick after the work, too.
    stop.store(true, Ordering::Relaxed);
    CountRun { primes, count, ticks: beat.await.expect("the heartbeat panicked") }
}

/// Adds a run to the timeline: the heartbeat's ticks, each from when it was due to when it
/// came, on the runtime's one thread; the count on the thread where it ran.
fn draw(timeline: &Timeline, way: Way, run: &CountRun) {
    let at = |instant: Instant| timeline.offset_of(instant.into_std());
    let thread = match way {
        Way::Inline => "count (the runtime's thread)",
        Way::SpawnBlocking => "count (a spawn_blocking thread)",
        Way::Rayon => "count (a rayon thread)",
    };
    timeline.record(thread, "counting primes", at(run.count.start), at(run.count.end));
    for tick in &run.ticks {
        let late = format!("tick, {} late", human_duration(tick.came - tick.due));
        timeline.record("heartbeat (the runtime's thread)", late, at(tick.due), at(tick.came));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The heartbeat cannot tick while the inline count holds the thread: its worst delay is
    /// at least the count's own time, less one tick. A property, not a timing.
    #[tokio::test]
    async fn inline_work_stalls_the_heartbeat() {
        let timeline = Timeline::new();
        let run = count_beside_heartbeat(Way::Inline, 1_000_000).await;
        let (took, late) = (run.took(), run.worst_delay());
        assert_eq!(run.primes, 78_498);
        assert!(late + TICK >= took, "late {late:?}, took {took:?}");
        // Drawn, the late tick's bar spans the count's end: it waited for the count.
        draw(&timeline, Way::Inline, &run);
        let spans = timeline.spans();
        let count = spans.iter().find(|s| s.lane.starts_with("count")).unwrap();
        let ticks = spans.iter().filter(|s| s.lane.starts_with("heartbeat"));
        assert_eq!(ticks.clone().count(), run.ticks.len());
        assert!(ticks.clone().any(|t| t.start < count.end && t.end >= count.end), "{spans:?}");
    }

    #[tokio::test]
    async fn every_way_counts_right() {
        for way in [Way::SpawnBlocking, Way::Rayon] {
            assert_eq!(count_beside_heartbeat(way, 100_000).await.primes, 9_592);
        }
    }
}
