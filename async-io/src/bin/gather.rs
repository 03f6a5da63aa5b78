//! `join!` runs several futures at once on one thread: the total is the longest wait, not
//! the sum — and `try_join!` stops at the first error.
//!
//! Three jobs wait 2, 3 and 1 s. `tokio::join!` is one future that polls all three whenever
//! one can make progress (no task, no thread): they finish in the order job 3, job 1, job 2,
//! after about 3 s. `try_join!` returns at the first error (here after 0.5 s) and drops the
//! others, cancelling them mid-wait; Python's `gather` would let them run on.
//!
//! Mirrors: `asyncio3.py` (`asyncio.gather` of three waits) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin gather
//! ```
//!
//! Expected output:
//!
//! ```text
//! join! of three jobs waiting 2.00 s, 3.00 s and 1.00 s (time scale 1):
//!
//!   0.00 s  job 1 starts
//!   0.00 s  job 2 starts
//!   0.00 s  job 3 starts
//!   1.00 s  job 3 done
//!   2.00 s  job 1 done
//!   3.00 s  job 2 done
//!
//! Finished in the order job 3, job 1, job 2, after 3.00 s: the longest wait, not the sum (6.00 s).
//! ```

use std::io;
use std::time::Duration;

use anyhow::Result;
use asyncio::Log;
use asyncio::reports::GatherReport;
use clap::Parser;
use shared::cli::{Common, Trace};
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::waits::TimeScale;
use tokio::time::sleep;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let scale = args.common.time_scale;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let mut report = GatherReport::new(scale);

    report.announce_join()?;
    let log = Log::new();
    let order = runtime.block_on(gather(&log, scale))?;
    report.joined(&log, order)?;

    report.announce_try_join()?;
    let log = Log::new();
    let gave_up = runtime.block_on(stop_at_first_error(&log, scale));
    // The jobs that were still waiting were dropped: they never say "done".
    let finished = log.ended(" done").len();
    report.tried(&log, gave_up, finished, &args.trace, args.common.json)
}

/// All three at once; returns the order in which they finished.
async fn gather(log: &Log, scale: TimeScale) -> io::Result<Vec<String>> {
    let (a, b, c) = tokio::join!(
        job(log, 1, scale.secs(2.0)),
        job(log, 2, scale.secs(3.0)),
        job(log, 3, scale.secs(1.0)),
    );
    for result in [a, b, c] {
        result?;
    }
    Ok(log.ended(" done"))
}

/// Two jobs and one that fails first; returns when `try_join!` gave up.
async fn stop_at_first_error(log: &Log, scale: TimeScale) -> Duration {
    let result = tokio::try_join!(
        job(log, 4, scale.secs(1.0)),
        failing_job(log, scale.secs(0.5)),
        job(log, 5, scale.secs(2.0))
    );
    assert!(result.is_err(), "the failing job fails");
    log.elapsed()
}

/// A job that waits `wait`, as if for an answer from the network.
async fn job(log: &Log, n: u32, wait: Duration) -> io::Result<u32> {
    log.say(format!("job {n} starts"))?;
    sleep(wait).await;
    log.say(format!("job {n} done"))?;
    Ok(n)
}

/// A job that fails after `wait`.
async fn failing_job(log: &Log, wait: Duration) -> io::Result<u32> {
    log.say("the failing job starts")?;
    sleep(wait).await;
    log.say("the failing job fails")?;
    Err(io::Error::other("no answer"))
}

/// Wait for three futures at once with join!, and stop at the first error with try_join!.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn join_finishes_in_the_order_of_the_waits_after_the_longest() {
        let log = Log::new();
        assert_eq!(gather(&log, TimeScale::REAL).await.unwrap(), ["job 3", "job 1", "job 2"]);
        assert_eq!(log.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn try_join_stops_at_the_first_error() {
        let log = Log::new();
        assert_eq!(stop_at_first_error(&log, TimeScale::REAL).await, Duration::from_millis(500));
        assert!(!log.order().iter().any(|e| e.ends_with("done")), "{:?}", log.order());
    }
}
