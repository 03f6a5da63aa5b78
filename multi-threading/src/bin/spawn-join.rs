//! Two threads compute at the same time, and `join` hands back what each one returned.
//!
//! The main thread starts one thread that squares the numbers and one that cubes them, then
//! calls `join` on each. `join` waits for the thread to finish and returns the value its
//! closure returned — here a `Vec<u64>` — so the results come back to the caller without a
//! shared variable, a lock or any printing from inside the threads. (If a thread panics,
//! `join` returns the panic as an error instead.)
//!
//! Each number takes a simulated `--wait`, so the timeline shows the two threads working
//! side by side. Python's threads would overlap here too — they are waiting, not computing —
//! but Python's `Thread` has no return value: its results must go through a shared list.
//!
//! Mirrors: the square-and-cube example of the Python original's `Threading.md`.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin spawn-join
//! cargo run -p multi-threading --bin spawn-join -- 7 8 9 --wait 0.5
//! ```
//!
//! Expected output (thread ids vary):
//!
//! ```text
//! The main thread starts two threads: one squares 1, 2, 3, 4, 5, the other cubes them.
//! Each takes 200 ms per number (0.2 s × time scale 1).
//!
//! join() returned the squares: [1, 4, 9, 16, 25] (from ThreadId(2))
//! join() returned the cubes: [1, 8, 27, 64, 125] (from ThreadId(3))
//! ```

use std::io::Write;
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use multi_threading::reports::{spawn_join, spawn_join_plan};
use shared::cli::{Common, Trace};
use shared::report::{MainResult, ok_if_stdout_closed, out};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(2)?;
    let numbers: Vec<u64> = args.numbers.iter().copied().map(u64::from).collect();
    let scale = args.common.time_scale;
    let wait = scale.secs(args.wait);
    spawn_join_plan(&numbers, wait, args.wait, scale)?;

    // `thread::spawn` needs everything its closure uses to live as long as the thread may:
    // each thread gets its own copy of the numbers, and shares the timeline through an `Arc`.
    let timeline = Arc::new(Timeline::new());
    let square_thread = {
        let (numbers, timeline) = (numbers.clone(), Arc::clone(&timeline));
        thread::spawn(move || powers(&numbers, 2, wait, &timeline, "square thread"))
    };
    let cube_thread = {
        let timeline = Arc::clone(&timeline);
        thread::spawn(move || powers(&numbers, 3, wait, &timeline, "cube thread"))
    };
    // `join` waits for the thread to end and hands back what its closure returned.
    let (squares, square_id) = square_thread.join().expect("the square thread panicked");
    let (cubes, cube_id) = cube_thread.join().expect("the cube thread panicked");
    writeln!(out(), "join() returned the squares: {squares:?} (from {square_id:?})")?;
    writeln!(out(), "join() returned the cubes: {cubes:?} (from {cube_id:?})")?;
    let work = wait * args.numbers.len() as u32;
    spawn_join(&timeline, work, &squares, &cubes, &args.trace, args.common.json)
}

/// Raises each number to `exponent`, taking `wait` per number (recorded on `lane`); returns
/// the results and the id of the thread that computed them.
fn powers(
    numbers: &[u64],
    exponent: u32,
    wait: Duration,
    timeline: &Timeline,
    lane: &str,
) -> (Vec<u64>, ThreadId) {
    let results = numbers
        .iter()
        .map(|&n| {
            timeline.measure(lane, n.to_string(), || {
                thread::sleep(wait); // Stand-in for real work.
                n.pow(exponent)
            })
        })
        .collect();
    (results, thread::current().id())
}

/// Square and cube numbers on two threads, and get the results back through join.
#[derive(Debug, Parser)]
struct Args {
    /// Numbers to square and cube (at most 2,000,000, so that the cube fits in a u64; at most
    /// 1,000 of them)
    #[arg(value_name = "N≤2000000", default_values_t = [1, 2, 3, 4, 5], num_args = 1..=1000,
          value_parser = shared::cli::whole::<u32>(0..=2_000_000))]
    numbers: Vec<u32>,
    /// Simulated seconds of work per number, so the two threads visibly overlap
    #[arg(long, value_name = "SECONDS", default_value_t = 0.2, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_returns_every_result_in_order() {
        let timeline = Timeline::new();
        let (cubes, id) = powers(&[1, 2, 3, 2_000_000], 3, Duration::ZERO, &timeline, "cube");
        assert_eq!(cubes, [1, 8, 27, 8_000_000_000_000_000_000]);
        assert_eq!(id, thread::current().id());
        assert_eq!(timeline.spans().len(), 4);
    }
}
