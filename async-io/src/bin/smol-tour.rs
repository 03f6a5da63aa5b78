//! The same futures on another executor, smol: what carries over from tokio, what differs,
//! and what ties a future to one runtime.
//!
//! `async fn` only builds a future; any executor can poll it. Spawning, joining and timers
//! look alike on smol, with one difference in spawning: dropping a smol `Task` cancels it,
//! where a tokio task runs on without its `JoinHandle` (`.detach()` is smol's way to let go).
//! A future that names no runtime runs unchanged on both. A future that uses tokio's timer or
//! sockets does not: they register with tokio's reactor and timer, which they find through a
//! thread-local context that a tokio runtime sets — under `smol::block_on` alone they panic.
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
//! Expected output (parts 2 to 4 follow; the chapter README shows a whole run):
//!
//! ```text
//! 1. Three tasks wait; the handles of two are dropped, the third is detached:
//!
//!    smol task: cancelled, it never finished
//!    tokio task: finished
//!    detached task: finished
//! ```

use std::{collections::BTreeMap, io, io::Write, time::Duration};

use anyhow::{Result, ensure};
use asyncio::reports::SmolTour;
use asyncio::{Log, panic_message};
use clap::Parser;
use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt, future::join_all, stream};
use shared::cli::Common;
use shared::report::{MainResult, gathered, human_duration, thousands, timed};
use shared::report::{ok_if_stdout_closed, out};
use shared::waits::TimeScale;
use smol::Timer;
use tokio::runtime::{Builder, Runtime};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let scale = args.common.time_scale;
    // A tokio runtime beside smol, to compare them: its one worker thread runs tokio's tasks.
    // (A current-thread runtime runs tasks only inside its own `block_on`: not while smol's runs.)
    // Threads: tokio's worker, smol's executor and its I/O driver. Where the OS refuses one,
    // tokio panics and hangs, and smol aborts: check first.
    shared::limits::room_for_threads(3)?;
    let tokio_rt = Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let finished = dropped_handles(&tokio_rt)?;
    let (order, elapsed_s) = gather_on_smol(scale)?;
    let (sum, took_s) = same_future_on_both(&tokio_rt)?;
    let tokio_timer_on_smol = tokio_timer_on_smol(&tokio_rt, scale.secs(0.5))?;
    let tour = SmolTour { finished, order, elapsed_s, sum, took_s, tokio_timer_on_smol };
    Ok(tour.report(args.common.json)?)
}

/// Part 1: three tasks wait for a go signal. Before it is given, the handles of a smol task
/// and a tokio task are dropped, and a second smol task is detached. Each task says on a
/// `oneshot` that it finished; a cancelled one never does: its sender is dropped unsent.
fn dropped_handles(tokio_rt: &Runtime) -> io::Result<BTreeMap<&'static str, bool>> {
    writeln!(
        out(),
        "1. Three tasks wait; the handles of two are dropped, the third is detached:\n"
    )?;
    smol::block_on(async {
        let (go, signal) = oneshot::channel::<()>();
        let signal = signal.shared(); // one signal that every task can await
        let (smol_done, smol_fate) = oneshot::channel();
        let (tokio_done, tokio_fate) = oneshot::channel();
        let (detached_done, detached_fate) = oneshot::channel();
        let smol_task = smol::spawn(report_after(signal.clone(), smol_done));
        smol::spawn(report_after(signal.clone(), detached_done)).detach();
        let tokio_task = tokio_rt.spawn(report_after(signal, tokio_done));
        drop(smol_task); // cancels the task: its future is dropped, wherever it was waiting
        drop(tokio_task); // lets the task go: it runs on, and nobody can await it any more
        // An error means every task was gone already: the lines below say so.
        let _ = go.send(());
        let mut finished = BTreeMap::new();
        let tasks = [("smol", smol_fate), ("tokio", tokio_fate), ("detached", detached_fate)];
        for (task, fate) in tasks {
            let done = fate.await.is_ok();
            let what = if done { "finished" } else { "cancelled, it never finished" };
            writeln!(out(), "   {task} task: {what}")?;
            finished.insert(task, done);
        }
        Ok(finished)
    })
}

/// Waits for `signal`, then says so on `done`. A task cancelled first drops `done` unsent.
async fn report_after(signal: impl Future, done: oneshot::Sender<()>) {
    signal.await;
    // The receiver waits for this; if it is gone, nobody is left to tell.
    let _ = done.send(());
}

/// Part 2: `futures::join!` of three waits of 2, 3 and 1 s on smol's timers, as in `gather`.
fn gather_on_smol(scale: TimeScale) -> io::Result<(Vec<String>, f64)> {
    let waits = [2.0, 3.0, 1.0].map(|s| human_duration(scale.secs(s))).join(", ");
    writeln!(out(), "\n2. join! on smol, with smol::Timer: waits of {waits}:\n")?;
    let log = &Log::new();
    let job = |n: u32, seconds: f64| async move {
        log.say(format!("job {n} starts"))?;
        Timer::after(scale.secs(seconds)).await;
        log.say(format!("job {n} done"))
    };
    let (a, b, c) = smol::block_on(async { futures::join!(job(1, 2.0), job(2, 3.0), job(3, 1.0)) });
    a?;
    b?;
    c?;
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
    let (input, mut output) = mpsc::channel(16);
    let mut running = Vec::new();
    for _ in 0..stages {
        // A new stage reads from the line's end so far, and its channel becomes the new end.
        let (stage_out, new_output) = mpsc::channel(16);
        let stage_in = std::mem::replace(&mut output, new_output);
        // `forward` sends a stream of `Result`s into a sink: hence the `Ok`.
        running.push(stage_in.map(|n: u64| Ok(n + 1)).forward(stage_out));
    }
    let fill = stream::iter(0..numbers).map(Ok).forward(input);
    let sum = output.fold(0, |sum, n| async move { sum + n });
    // A send could fail only if a later stage were gone; each lives in this `join!` until its
    // input ends, so none fails (and the test checks the sum).
    let (_filled, _relayed, sum) = futures::join!(fill, join_all(running), sum);
    sum
}

/// Part 3: `relay` on tokio and on smol, unchanged; the time each took.
fn same_future_on_both(tokio_rt: &Runtime) -> Result<(u64, BTreeMap<&'static str, f64>)> {
    let (numbers, stages) = (100_000, 10);
    let what = format!("0..{} through {stages} stages that each add 1", thousands(numbers));
    writeln!(out(), "\n3. One async fn that uses only `futures` ({what}), on both:\n")?;
    let on_tokio = timed(|| tokio_rt.block_on(relay(numbers, stages)));
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
/// Returns the panic's message, if it panicked.
fn tokio_timer_on_smol(tokio_rt: &Runtime, wait: Duration) -> Result<Option<String>> {
    let mut out = out();
    writeln!(out, "\n4. tokio::time::sleep under smol::block_on:\n")?;
    let panic = panic_message(|| smol::block_on(async { tokio::time::sleep(wait).await }));
    match &panic {
        Some(message) => writeln!(out, "   It panicked: {message}")?,
        None => writeln!(out, "   It did not panic: a tokio runtime's context was set")?,
    }
    writeln!(out, "   (tokio's timers and sockets need the reactor of a tokio runtime)")?;
    // Fix 1: hand the future to a tokio runtime; its JoinHandle is an ordinary future.
    let tokio_sleep = async move { tokio::time::sleep(wait).await };
    let (joined, took) = timed(|| smol::block_on(tokio_rt.spawn(tokio_sleep)));
    joined?;
    let slept = human_duration(took);
    writeln!(out, "   Fix 1: on a tokio runtime (tokio_rt.spawn, awaited under smol): {slept}")?;
    // Fix 2: a timer that needs no runtime's context; smol's has a thread of its own.
    let slept = human_duration(timed(|| tokio_rt.block_on(Timer::after(wait))).1);
    writeln!(out, "   Fix 2: a timer that needs no runtime (smol::Timer, here on tokio): {slept}")?;
    Ok(panic)
}

/// Run the same futures on smol and on tokio, and see where they differ.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_adds_one_per_stage_on_both_executors() {
        let expected = (0..1_000).sum::<u64>() + 1_000 * 3;
        let tokio_rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(tokio_rt.block_on(relay(1_000, 3)), expected);
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
