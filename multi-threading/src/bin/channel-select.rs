//! `select!`: one thread waits on two channels at once, and on a timeout when neither has
//! anything to say.
//!
//! A quick thread sends three numbers, 0.1 s apart; a slow one sends one answer after 0.6 s.
//! The main thread takes whatever comes first from either channel, and when nothing comes for
//! 0.2 s, the `default` branch reports a timeout. A channel that closes is swapped for
//! `channel::never()`, which is never ready, so `select!` stops picking it; the loop ends when
//! both have closed. (Python has no `select` over `queue.Queue`s; asyncio's `wait` with
//! `FIRST_COMPLETED` is the nearest thing, for tasks.)
//!
//! Mirrors: nothing in the Python original; it goes with `channels`.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin channel-select
//! ```
//!
//! Expected output (the order of lines that arrive at the same moment may vary):
//!
//! ```text
//! select! on two channels, with a timeout of 200 ms (time scale 1):
//!   0.10 s  quick 1
//!   0.20 s  quick 2
//!   0.30 s  quick 3
//!   0.50 s  timeout: nothing for 200 ms
//!   0.60 s  slow answer
//!
//! Both channels closed after 5 events, including 1 timeout: one thread waited on both, and on the clock.
//! ```

use std::io;
use std::thread;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use crossbeam::channel;
use multi_threading::reports::{channel_select, channel_select_plan};
use shared::cli::Common;
use shared::report::{MainResult, StampedLog, human_duration, ok_if_stdout_closed};
use shared::waits::TimeScale;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(2)?;
    let scale = args.common.time_scale;
    channel_select_plan(timeout(scale), scale)?;
    let events = select_with_timeout(scale)?;
    Ok(channel_select(&events, args.common.json)?)
}

/// `select!` over two channels with a timeout; prints what happened as it happens, and
/// returns it.
fn select_with_timeout(scale: TimeScale) -> io::Result<Vec<String>> {
    let (quick_tx, mut quick) = channel::unbounded::<u32>();
    let (slow_tx, mut slow) = channel::unbounded::<&str>();
    thread::spawn(move || {
        for n in 1..=3 {
            thread::sleep(scale.secs(0.1));
            let _ = quick_tx.send(n); // Ignored: only fails if the receiver is gone.
        }
    });
    thread::spawn(move || {
        thread::sleep(scale.secs(0.6));
        let _ = slow_tx.send("slow answer");
    });
    let log = StampedLog::new();
    let mut events = Vec::new();
    let mut channels_open = 2;
    let timeout = timeout(scale);
    while channels_open > 0 {
        let event = channel::select! {
            recv(quick) -> message => match message {
                Ok(n) => format!("quick {n}"),
                // Closed: swap in a channel that is never ready, so select! stops picking it.
                Err(_) => { quick = channel::never(); channels_open -= 1; continue }
            },
            recv(slow) -> message => match message {
                Ok(text) => text.to_string(),
                Err(_) => { slow = channel::never(); channels_open -= 1; continue }
            },
            default(timeout) => format!("timeout: nothing for {}", human_duration(timeout)),
        };
        log.say(&event)?;
        events.push(event);
    }
    Ok(events)
}

/// The timeout: 0.2 s scaled, and at least a millisecond (a zero timeout would spin).
fn timeout(scale: TimeScale) -> Duration {
    scale.secs(0.2).max(Duration::from_millis(1))
}

/// `select!` over two channels, with a timeout.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_sees_every_message_and_ends_when_both_close() {
        let events = select_with_timeout(TimeScale::new(0.01).unwrap()).unwrap();
        // Every message, each channel's in order; how the two channels interleave may vary.
        let quick: Vec<&String> = events.iter().filter(|e| e.starts_with("quick")).collect();
        assert_eq!(quick, ["quick 1", "quick 2", "quick 3"]);
        assert_eq!(events.iter().filter(|e| *e == "slow answer").count(), 1);
    }
}
