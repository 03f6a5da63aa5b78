//! `.await` runs the awaited future to its end before going on: waits add up.
//!
//! `first` prints "one", then awaits `second` — which prints "two", sleeps 2 s and prints
//! "three" — and only then prints "four", sleeps 1 s and prints "five". Awaiting a future is
//! not starting it in the background: `first` is paused at `.await` until `second` is done.
//! The order is one, two, three, four, five, and the run takes 3 s: the sum of the waits.
//! Compare `spawn-task`, where the same two waits overlap and take 2 s in all.
//!
//! Mirrors: `asyncIo.py` (`await fn2()` inside `fn()`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin await-in-order
//! ```
//!
//! Expected output:
//!
//! ```text
//! Runtime: current-thread; time scale 1
//!
//!   0.00 s  one
//!   0.00 s  two
//!   2.00 s  three
//!   2.00 s  four
//!   3.00 s  five
//!
//! Order: one, two, three, four, five. Total: 3.00 s for waits of 2.00 s and 1.00 s: one after the other.
//! ```

use std::io::{self, Write};

use anyhow::Result;
use asyncio::Log;
use asyncio::reports::await_in_order;
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed, out};
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
    writeln!(out(), "Runtime: current-thread; time scale {scale}\n")?;
    let log = Log::new();
    runtime.block_on(first(&log, scale))?;
    Ok(await_in_order(&log, scale, args.common.json)?)
}

async fn first(log: &Log, scale: TimeScale) -> io::Result<()> {
    log.say("one")?;
    // `first` stops here until `second` has run to its end, waits and all.
    second(log, scale).await?;
    log.say("four")?;
    sleep(scale.secs(1.0)).await;
    log.say("five")
}

async fn second(log: &Log, scale: TimeScale) -> io::Result<()> {
    log.say("two")?;
    sleep(scale.secs(2.0)).await;
    log.say("three")
}

/// Await one async function inside another, and see the waits add up.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    // Paused time: sleeps end at once, and the clock jumps by exactly their length.
    #[tokio::test(start_paused = true)]
    async fn awaits_run_to_the_end_one_after_the_other() {
        let log = Log::new();
        first(&log, TimeScale::REAL).await.unwrap();
        let secs = Duration::from_secs;
        let expected = [("one", 0), ("two", 0), ("three", 2), ("four", 2), ("five", 3)]
            .map(|(word, at)| (word.to_string(), secs(at)));
        assert_eq!(log.events(), expected);
    }
}
