//! The same futures on another executor, smol: what carries over from tokio, what differs,
//! and what ties a future to one runtime.
//!
//! `async fn` only builds a future; any executor can poll it. Spawning, joining and timers
//! look alike on smol, with one difference in spawning: dropping a smol `Task` cancels it,
//! where a tokio task runs on without its `JoinHandle` (`.detach()` is smol's way to let go).
//! A future that names no runtime runs unchanged on both. A future that uses tokio's timer or
//! sockets does not: they register with tokio's reactor, which they find through a
//! thread-local context that only a tokio runtime sets — under `smol::block_on` they panic.
//!
//! Mirrors: nothing in the Python original, where asyncio is the one event loop (trio is
//! another, and its coroutines do not run on asyncio's loop either).
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin smol-tour
//! ```
//!
//! Expected output:
//!
//! ```text
//! 1. Dropping a task's handle, on smol and on tokio (each task waits 1.00 s; time scale 1):
//!
//!  0.50 s  dropped the handles of a smol and a tokio task; detached another smol task
//!  0.50 s  smol task: cancelled mid-wait
//!  1.00 s  tokio task: finished
//!  1.00 s  detached task: finished
//! ```

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Result, ensure};
use asyncio::{Log, panic_message};
use clap::Parser;
use futures::channel::{mpsc, oneshot};
use futures::{StreamExt, future::join_all, stream};
use serde::Serialize;
use shared::cli::Common;
use shared::report::{gathered, human_duration, thousands, timed};
use shared::report::{ok_if_stdout_closed, out, print_json};
use shared::waits::TimeScale;
use smol::Timer;
use tokio::runtime::{Builder, Runtime};

fn main() -> Result<()> {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let scale = args.common.time_scale;
    // A tokio runtime beside smol, to compare them: its one worker thread runs tokio's tasks.
    let tokio = Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let finished = dropped_handles(&tokio, scale)?;
    let (order, elapsed_s) = gather_on_smol(scale)?;
    let (sum, took_s) = same_future_on_both(&tokio)?;
    let tokio_timer_on_smol = tokio_timer_on_smol(&tokio, scale.secs(0.5))?;
    let summary = Summary { finished, order, elapsed_s, sum, took_s, tokio_timer_on_smol };
    writeln!(out(), "\n{}", conclusion(&summary))?;
    if args.common.json {
        print_json(&summary)?;
    }
    Ok(())
}

/// Part 1: a smol task and a tokio task whose handles are dropped mid-wait, and a detached
/// smol task. Each reports on a `oneshot` when its wait is over; a cancelled one never does.
fn dropped_handles(tokio: &Runtime, scale: TimeScale) -> io::Result<BTreeMap<&'static str, bool>> {
    let wait = scale.secs(1.0);
    let title = format!("each task waits {}; time scale {scale}", human_duration(wait));
    writeln!(out(), "1. Dropping a task's handle, on smol and on tokio ({title}):\n")?;
    let log = Log::new();
    smol::block_on(async {
        let (smol_done, smol_fate) = oneshot::channel();
        let (tokio_done, tokio_fate) = oneshot::channel();
        let (detached_done, detached_fate) = oneshot::channel();
        let smol_task = smol::spawn(report_after(Timer::after(wait), smol_done));
        smol::spawn(report_after(Timer::after(wait), detached_done)).detach();
        // tokio's timer must be made on tokio's runtime, so the task makes it (see part 4).
        let tokio_task =
            tokio.spawn(async move { report_after(tokio::time::sleep(wait), tokio_done).await });
        Timer::after(wait / 2).await;
        drop(smol_task); // cancels the task: its future is dropped where it waits
        drop(tokio_task); // lets the task go: it runs on, and nobody can await it any more
        log.say("dropped the handles of a smol and a tokio task; detached another smol task")?;
        let mut finished = BTreeMap::new();
        let tasks = [("smol", smol_fate), ("tokio", tokio_fate), ("detached", detached_fate)];
        for (task, fate) in tasks {
            let done = fate.await.is_ok();
            let what = if done { "finished" } else { "cancelled mid-wait" };
            log.say(format!("{task} task: {what}"))?;
            finished.insert(task, done);
        }
        Ok(finished)
    })
}

/// Waits for `timer`, then says so on `done`. A task cancelled first drops `done` unsent.
async fn report_after(timer: impl Future, done: oneshot::Sender<()>) {
    timer.await;
    // The receiver waits for this; if it is gone, nobody is left to tell.
    let _ = done.send(());
}

/// Part 2: `futures::join!` of three waits of 2, 3 and 1 s on smol's timers, as in `gather`.
fn gather_on_smol(scale: TimeScale) -> io::Result<(Vec<String>, f64)> {
    writeln!(out(), "\n2. join! on smol with smol::Timer, waits of 2, 3, 1 s (scale {scale}):\n")?;
    let log = Log::new();
    let job = |n: u32, seconds: f64| {
        let log = &log;
        async move {
            log.say(format!("job {n} starts"))?;
            Timer::after(scale.secs(seconds)).await;
            log.say(format!("job {n} done"))
        }
    };
    let (a, b, c) = smol::block_on(async { futures::join!(job(1, 2.0), job(2, 3.0), job(3, 1.0)) });
    a.and(b).and(c)?;
    let elapsed = log.elapsed();
    let order = log.ended(" done");
    let (took, sum) = (human_duration(elapsed), scale.secs(6.0));
    let verdict = format!("{} ({})", gathered(scale.secs(3.0), sum, elapsed), human_duration(sum));
    writeln!(out(), "\nDone in the order {}, after {took}: {verdict}.", order.join(", "))?;
    Ok((order, elapsed.as_secs_f64()))
}

/// Runtime-neutral: it uses only `futures`. Numbers flow down a line of `stages` futures
/// joined by bounded channels, each adding 1; the sum comes out at the end.
async fn relay(numbers: u64, stages: u64) -> u64 {
    let (feed, mut line) = mpsc::channel(16);
    let mut hops = Vec::new();
    for _ in 0..stages {
        let (next, rest) = mpsc::channel(16);
        let from = std::mem::replace(&mut line, rest);
        hops.push(from.map(|n: u64| Ok(n + 1)).forward(next));
    }
    let fill = stream::iter(0..numbers).map(Ok).forward(feed);
    let sum = line.fold(0, |sum, n| async move { sum + n });
    // A send fails only if a later stage is gone, and then the sum is short: the test checks it.
    let (_, _, sum) = futures::join!(fill, join_all(hops), sum);
    sum
}

/// Part 3: `relay` on tokio and on smol, unchanged; the time each took.
fn same_future_on_both(tokio: &Runtime) -> Result<(u64, BTreeMap<&'static str, f64>)> {
    let (numbers, stages) = (100_000, 10);
    let what = format!("{} numbers through {stages} channels", thousands(numbers));
    writeln!(out(), "\n3. One async fn that uses only `futures` ({what}), on both:\n")?;
    let on_tokio = timed(|| tokio.block_on(relay(numbers, stages)));
    let on_smol = timed(|| smol::block_on(relay(numbers, stages)));
    let mut took_s = BTreeMap::new();
    for (executor, (sum, took)) in [("tokio", on_tokio), ("smol", on_smol)] {
        writeln!(out(), "   on {executor:5}  sum {}  in {}", thousands(sum), human_duration(took))?;
        took_s.insert(executor, took.as_secs_f64());
    }
    ensure!(on_tokio.0 == on_smol.0, "the two executors gave different sums");
    Ok((on_tokio.0, took_s))
}

/// Part 4: `tokio::time::sleep` under `smol::block_on`, and two ways to make it work.
/// Returns the panic's message.
fn tokio_timer_on_smol(tokio: &Runtime, wait: Duration) -> Result<String> {
    let mut out = out();
    writeln!(out, "\n4. tokio::time::sleep under smol::block_on:\n")?;
    let panic = panic_message(|| smol::block_on(async { tokio::time::sleep(wait).await }));
    let message = panic.unwrap_or_else(|| "no panic: a tokio context was set after all".into());
    writeln!(out, "   It panicked: {message}")?;
    writeln!(out, "   (tokio's timers and sockets need the reactor of a tokio runtime)")?;
    // Fix 1: hand the future to a tokio runtime; its JoinHandle is an ordinary future.
    let tokio_sleep = async move { tokio::time::sleep(wait).await };
    let (joined, took) = timed(|| smol::block_on(tokio.spawn(tokio_sleep)));
    joined?;
    let slept = human_duration(took);
    writeln!(out, "   Fix 1: on tokio (tokio.spawn, awaited under smol), slept {slept}")?;
    // Fix 2: a timer that needs no runtime's context; smol's has a thread of its own.
    let slept = human_duration(timed(|| tokio.block_on(Timer::after(wait))).1);
    writeln!(out, "   Fix 2: a runtime-independent timer (smol::Timer, on tokio), slept {slept}")?;
    Ok(message)
}

/// The closing sentence, from what this run showed.
fn conclusion(run: &Summary) -> &'static str {
    let cancelled = !run.finished["smol"] && run.finished["tokio"];
    match (cancelled, run.tokio_timer_on_smol.contains("Tokio")) {
        (true, true) => "Joins and timers carried over; dropped handles and tokio's timer did not.",
        (false, _) => "Too short to catch the smol task mid-wait: try --time-scale 1.",
        (true, false) => "tokio's timer did not panic this time: see part 4.",
    }
}

/// Run the same futures on smol and on tokio, and see where they differ.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    /// Which tasks of part 1 finished, although their handles were dropped or detached.
    finished: BTreeMap<&'static str, bool>,
    order: Vec<String>,
    elapsed_s: f64,
    /// The portable future's sum, and how long it took on each executor.
    sum: u64,
    took_s: BTreeMap<&'static str, f64>,
    tokio_timer_on_smol: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_adds_one_per_stage_on_both_executors() {
        let expected = (0..1_000).sum::<u64>() + 1_000 * 3;
        let tokio = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(tokio.block_on(relay(1_000, 3)), expected);
        assert_eq!(smol::block_on(relay(1_000, 3)), expected);
    }

    #[test]
    fn a_tokio_timer_outside_tokio_is_a_message_not_a_crash() {
        let message =
            panic_message(|| smol::block_on(async { tokio::time::sleep(Duration::ZERO).await }));
        assert!(message.is_some_and(|m| m.contains("Tokio")));
        assert_eq!(panic_message(|| ()), None);
    }
}
