//! Timeouts and cancellation: `timeout`, `select!`, dropping a future, `abort`, and a Ctrl-C
//! shutdown that lets the work in flight finish.
//!
//! A future does nothing unless polled, so cancelling it is simply dropping it: it stops at
//! the `.await` where it was waiting, and its destructors run (here, a `Cleanup` value that
//! prints when dropped). Everything below builds on that:
//!
//! 1. `tokio::time::timeout(limit, future)` gives up on a slow answer after `limit`.
//! 2. `tokio::select!` waits for the first of several futures and drops the others.
//! 3. `JoinHandle::abort` cancels a spawned task from outside, at its next `.await`.
//! 4. On Ctrl-C (`tokio::signal::ctrl_c`) — or after 2 s if none comes — the workers are told
//!    to stop taking new jobs, and the program waits for the jobs in flight to finish. (Only
//!    part 4 listens for Ctrl-C: before it, Ctrl-C ends the program at once, as usual.)
//!
//! Mirrors: nothing in the Python original; `asyncio.wait_for`, `asyncio.wait(...,
//! return_when=FIRST_COMPLETED)` and `task.cancel()` are Python's counterparts.
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin select-timeout
//! ```
//!
//! Expected output:
//!
//! ```text
//! 1. timeout: give up on an answer that takes 2.00 s after 1.00 s
//!   0.00 s  slow answer: asked
//!   1.00 s  slow answer: dropped mid-wait, cleanup ran
//!   1.00 s  timeout: no answer within 1.00 s
//! ```

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Result;
use asyncio::Log;
use asyncio::reports::{select_timeout, warn_if_waits_too_short};
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, human_duration, ok_if_stdout_closed, out};
use shared::waits::TimeScale;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::sleep;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let scale = args.common.time_scale;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let log = Log::new();
    warn_if_waits_too_short(scale)?;
    runtime.block_on(async {
        cancellations(&log, scale).await?;
        shutdown_on_ctrl_c(&log, scale).await
    })?;
    Ok(select_timeout(&log, args.common.json)?)
}

/// Prints when it is dropped while still armed: shows that a cancelled future's destructors
/// run. A future that finishes disarms it first.
struct Cleanup<'a> {
    log: &'a Log,
    name: &'static str,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Ignored: a closed stdout only loses this line.
            let _ = self.log.say(format!("{}: dropped mid-wait, cleanup ran", self.name));
        }
    }
}

/// An answer that takes `wait` to come.
async fn answer(log: &Log, name: &'static str, wait: Duration) -> io::Result<&'static str> {
    log.say(format!("{name}: asked"))?;
    let mut cleanup = Cleanup { log, name, armed: true };
    sleep(wait).await;
    cleanup.armed = false; // Finished: nothing to clean up.
    log.say(format!("{name}: answered"))?;
    Ok(name)
}

/// Parts 1–3; returns nothing but the log.
async fn cancellations(log: &Log, scale: TimeScale) -> io::Result<()> {
    let (limit, slow) = (scale.secs(1.0), scale.secs(2.0));
    let (limit_text, slow_text) = (human_duration(limit), human_duration(slow));
    writeln!(out(), "1. timeout: give up on an answer that takes {slow_text} after {limit_text}")?;
    match tokio::time::timeout(limit, answer(log, "slow answer", slow)).await {
        Ok(answer) => log.say(format!("timeout: got {:?}", answer?))?,
        Err(_) => log.say(format!("timeout: no answer within {limit_text}"))?,
    }

    writeln!(out(), "\n2. select!: the first of two answers wins, the other is dropped")?;
    let winner = tokio::select! {
        // Poll the branches in the order written (select! picks a random one first by
        // default), so that "fast answer: asked" prints first in every run. The winner is
        // whichever answer comes first either way.
        biased;
        fast = answer(log, "fast answer", scale.secs(0.5)) => fast?,
        slow = answer(log, "slower answer", scale.secs(1.5)) => slow?,
    };
    log.say(format!("select!: {winner} won"))?;

    writeln!(
        out(),
        "\n3. abort: a spawned task ticking every {} is cancelled from outside",
        human_duration(scale.secs(0.4))
    )?;
    let ticker = {
        let log = log.clone();
        tokio::spawn(async move {
            let _cleanup = Cleanup { log: &log, name: "ticking task", armed: true };
            // Runs until aborted (or until stdout is closed).
            while log.say("ticking task: tick").is_ok() {
                sleep(scale.secs(0.4)).await;
            }
        })
    };
    sleep(scale.secs(1.0)).await;
    ticker.abort();
    let cancelled = ticker.await.is_err_and(|e| e.is_cancelled());
    let how = if cancelled { "was cancelled" } else { "ended by itself" };
    log.say(format!("abort: the task {how}"))
}

/// Part 4: Ctrl-C, or two seconds without one, starts a graceful shutdown.
async fn shutdown_on_ctrl_c(log: &Log, scale: TimeScale) -> io::Result<()> {
    let by_itself = human_duration(scale.secs(2.0));
    writeln!(
        out(),
        "\n4. Press Ctrl-C for a graceful shutdown (it comes by itself after {by_itself}):"
    )?;
    let shutdown = async {
        tokio::select! {
            // Once polled, tokio's Ctrl-C handler stays installed for the rest of the process
            // (on Unix): while the jobs in flight finish, no Ctrl-C ends it — not a second
            // one, nor a first one that comes after the 2 s. A server would exit on a second.
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = sleep(scale.secs(2.0)) => "no Ctrl-C, shutting down anyway",
        }
    };
    graceful_shutdown(log, scale, shutdown).await
}

/// Part 4: two workers take jobs until `shutdown` completes, then finish the job in hand.
async fn graceful_shutdown(
    log: &Log,
    scale: TimeScale,
    shutdown: impl Future<Output = &'static str>,
) -> io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let mut workers = JoinSet::new();
    for worker in 1..=2 {
        let log = log.clone();
        let stopped = stopped.clone();
        workers.spawn(async move {
            let mut job = 0;
            // A job is never interrupted: the worker checks for the stop only between jobs.
            while !*stopped.borrow() {
                job += 1;
                log.say(format!("worker {worker}: job {job} starts"))?;
                sleep(scale.secs(0.8)).await;
                log.say(format!("worker {worker}: job {job} done"))?;
            }
            io::Result::Ok(())
        });
    }
    let reason = shutdown.await;
    log.say(format!("shutdown: {reason}; no new jobs, waiting for the ones in flight"))?;
    stop.send_replace(true);
    // `JoinSet` hands back each task's result as it ends.
    while let Some(result) = workers.join_next().await {
        result.expect("a worker panicked")?;
    }
    log.say("shutdown: every worker finished its job and stopped")
}

/// Timeouts, select!, cancellation by drop, abort, and a graceful Ctrl-C shutdown.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(log: &Log, event: &str) -> Option<Duration> {
        log.events().into_iter().find(|(e, _)| e == event).map(|(_, t)| t)
    }

    // Paused time: every wait ends exactly when it should, so the log is exact.
    #[tokio::test(start_paused = true)]
    async fn timeouts_and_cancellations_happen_when_they_should() {
        let log = Log::new();
        cancellations(&log, TimeScale::REAL).await.unwrap();
        let s = Duration::from_secs_f64;
        assert_eq!(at(&log, "slow answer: dropped mid-wait, cleanup ran"), Some(s(1.0)));
        assert_eq!(at(&log, "timeout: no answer within 1.00 s"), Some(s(1.0)));
        assert_eq!(at(&log, "select!: fast answer won"), Some(s(1.5)));
        assert_eq!(at(&log, "slower answer: dropped mid-wait, cleanup ran"), Some(s(1.5)));
        assert_eq!(at(&log, "ticking task: dropped mid-wait, cleanup ran"), Some(s(2.5)));
        assert_eq!(at(&log, "abort: the task was cancelled"), Some(s(2.5)));
        assert!(at(&log, "slow answer: answered").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_graceful_shutdown_lets_the_jobs_in_flight_finish() {
        let log = Log::new();
        let shutdown = async {
            sleep(Duration::from_millis(1200)).await;
            "test"
        };
        graceful_shutdown(&log, TimeScale::REAL, shutdown).await.unwrap();
        // Jobs take 0.8 s: the second ones were in flight at 1.2 s and finish at 1.6 s.
        let s = Duration::from_secs_f64;
        for worker in [1, 2] {
            assert_eq!(at(&log, &format!("worker {worker}: job 2 done")), Some(s(1.6)));
            assert!(at(&log, &format!("worker {worker}: job 3 starts")).is_none());
        }
        assert_eq!(
            log.order().last().unwrap(),
            "shutdown: every worker finished its job and stopped"
        );
    }
}
