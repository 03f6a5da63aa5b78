//! Channels between threads: a pipeline with backpressure, `select!` with a timeout, and
//! std's `mpsc` next to crossbeam's.
//!
//! 1. A pipeline of three stages over two *bounded* crossbeam channels (room for
//!    `--capacity` items each): two producers send items, several consumers take them out,
//!    do slow work and pass them on, and a collector gathers them. When a channel is full,
//!    `send` blocks: the fast producers are held back to the speed of the slow stage —
//!    *backpressure* — instead of piling up items in memory. The timeline shows the
//!    producers' blocked sends. A crossbeam `Receiver` is `Clone`: many consumers share one.
//! 2. `select!` waits on two channels at once, with a timeout for when neither has anything.
//! 3. std's `mpsc` ("multi-producer, single-consumer"): `Sender` is `Clone`, `Receiver` is
//!    not, so it has one consumer; several need `Arc<Mutex<Receiver>>` — or crossbeam.
//!
//! Mirrors: `queue.Queue` between threads, which the Python original used only across
//! processes (`queueSharing.py`); `Queue(maxsize=n)` is the bounded channel here.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin channels
//! cargo run -p multi-threading --bin channels -- --capacity 100
//! ```
//!
//! The output ends like this (timings vary):
//!
//! ```text
//! 3. std mpsc: 2 producers, 1 consumer (its Receiver cannot be cloned): received 6 of 6 messages.
//! ```

use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use crossbeam::channel;
use serde::Serialize;
use shared::cli::Common;
use shared::report::{human_duration, ok_if_stdout_closed, out, print_json};
use shared::timeline::{Timeline, terminal_width};
use shared::waits::TimeScale;

fn main() -> Result<()> {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let mut out = out();
    let scale = args.common.time_scale;
    writeln!(
        out,
        "1. Pipeline: producers A and B send {} items each into a channel with room for {}; \
         {} consumers take {} per item and pass it on to a collector.\n",
        args.items,
        args.capacity,
        args.consumers,
        human_duration(scale.secs(args.work))
    )?;
    let timeline = Timeline::new();
    let received = pipeline(args, &timeline);
    let elapsed = timeline.now();
    writeln!(out, "{}", timeline.render_text(terminal_width()))?;
    let blocked: Duration =
        timeline.spans().iter().filter(|s| s.label == "blocked").map(|s| s.end - s.start).sum();
    let delivered = received.len();
    writeln!(out, "All {delivered} items arrived, in {}.", human_duration(elapsed))?;
    // Claim backpressure only if the producers really waited (their blocked time is summed
    // over both, so compare it with twice the run).
    let verdict = if blocked > elapsed / 2 {
        "the full channel held them back to the pace of the consumers — backpressure, instead \
         of a queue that grows without limit"
    } else {
        "the channel had room, so the items waited in it, in memory, for a free consumer"
    };
    writeln!(
        out,
        "The two producers spent {} in all blocked in send: {verdict}.\n",
        human_duration(blocked)
    )?;

    writeln!(out, "2. select! on two channels, with a timeout of 0.2 s × time scale {scale}:")?;
    let events = select_with_timeout(scale);
    for (at, event) in &events {
        writeln!(out, "{:6.2} s  {event}", at.as_secs_f64())?;
    }

    let (each, mpsc_received) = (3, std_mpsc(3));
    writeln!(
        out,
        "\n3. std mpsc: 2 producers, 1 consumer (its Receiver cannot be cloned): received \
         {mpsc_received} of {} messages.",
        2 * each
    )?;
    if args.common.json {
        print_json(&Summary {
            items: 2 * args.items,
            delivered,
            producers_blocked_s: blocked.as_secs_f64(),
            pipeline_s: elapsed.as_secs_f64(),
            select_events: events.into_iter().map(|(_, e)| e).collect(),
            mpsc_received,
        })?;
    }
    Ok(())
}

/// A pipeline over bounded channels, select! with a timeout, and std mpsc.
#[derive(Debug, Parser)]
struct Args {
    /// Items each of the two producers sends
    #[arg(long, value_name = "N≤1000", default_value = "6",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    items: u32,
    /// Consumers sharing the pipeline's channel
    #[arg(long, value_name = "N≤16", default_value = "2",
          value_parser = clap::value_parser!(u32).range(1..=16))]
    consumers: u32,
    /// Room in the pipeline's bounded channel
    #[arg(long, value_name = "N≤1000", default_value = "2",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    capacity: u32,
    /// Simulated seconds of work per item in the consumers
    #[arg(long, value_name = "SECONDS", default_value_t = 0.1, value_parser = shared::cli::seconds)]
    work: f64,
    #[command(flatten)]
    common: Common,
}

/// An item: which producer made it, and its number in that producer's sequence.
type Item = (char, u32);

/// The pipeline: producers A and B → bounded channel → `consumers` workers → bounded channel
/// → this thread, which collects. Returns each item with the consumer that handled it, in
/// the order they arrived.
fn pipeline(args: &Args, timeline: &Timeline) -> Vec<(u32, Item)> {
    let (items, work) = (args.items, args.common.time_scale.secs(args.work));
    let (to_workers, from_producers) = channel::bounded::<Item>(args.capacity as usize);
    let (to_collector, from_workers) = channel::bounded(args.capacity as usize);
    thread::scope(|s| {
        for producer in ['A', 'B'] {
            let to_workers = to_workers.clone();
            s.spawn(move || {
                for n in 1..=items {
                    let start = timeline.now();
                    // Blocks while the channel is full: this is the backpressure.
                    to_workers.send((producer, n)).expect("the workers outlive the producers");
                    if timeline.now() - start > Duration::from_millis(1) {
                        timeline.record(
                            format!("producer {producer}"),
                            "blocked",
                            start,
                            timeline.now(),
                        );
                    }
                }
            });
        }
        for consumer in 1..=args.consumers {
            // A crossbeam `Receiver` is `Clone`: every consumer takes from the same channel.
            let (from_producers, to_collector) = (from_producers.clone(), to_collector.clone());
            s.spawn(move || {
                for item in from_producers {
                    let label = format!("{}{}", item.0, item.1);
                    timeline.measure(format!("consumer {consumer}"), label, || thread::sleep(work));
                    to_collector
                        .send((consumer, item))
                        .expect("the collector outlives the workers");
                }
            });
        }
        // Drop this thread's ends: each loop above ends when every sender of its channel is
        // gone and the channel is empty, and so does the collecting loop below.
        drop((to_workers, to_collector));
        from_workers.iter().collect()
    })
}

/// `select!` over two channels with a timeout; returns what happened, and when.
fn select_with_timeout(scale: TimeScale) -> Vec<(Duration, String)> {
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
    // At least a millisecond: a zero timeout would make the loop spin.
    let timeout = scale.secs(0.2).max(Duration::from_millis(1));
    let (start, mut events, mut open) = (Instant::now(), Vec::new(), 2);
    while open > 0 {
        let event = channel::select! {
            recv(quick) -> message => match message {
                Ok(n) => format!("quick {n}"),
                // Closed: swap in a channel that is never ready, so select! stops picking it.
                Err(_) => { quick = channel::never(); open -= 1; continue }
            },
            recv(slow) -> message => match message {
                Ok(text) => text.to_string(),
                Err(_) => { slow = channel::never(); open -= 1; continue }
            },
            default(timeout) => format!("timeout: nothing for {}", human_duration(timeout)),
        };
        events.push((start.elapsed(), event));
    }
    events
}

/// std's `mpsc`: several producers (the `Sender` clones), one consumer.
fn std_mpsc(messages_each: u32) -> usize {
    let (tx, rx) = mpsc::channel::<u32>();
    for _ in 0..2 {
        let tx = tx.clone();
        thread::spawn(move || (0..messages_each).for_each(|n| tx.send(n).expect("rx lives")));
    }
    drop(tx);
    // `rx` cannot be cloned: this loop is the one consumer. It ends when every sender is gone.
    rx.into_iter().count()
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    items: u32,
    delivered: usize,
    producers_blocked_s: f64,
    pipeline_s: f64,
    select_events: Vec<String>,
    mpsc_received: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_delivers_every_item_once_in_order_per_producer() {
        let args =
            Args::parse_from(["channels", "--items", "50", "--consumers", "3", "--work", "0"]);
        let received = pipeline(&args, &Timeline::new());
        let mut all: Vec<Item> = received.iter().map(|&(_, item)| item).collect();
        all.sort();
        let expected: Vec<Item> =
            ['A', 'B'].into_iter().flat_map(|p| (1..=50).map(move |n| (p, n))).collect();
        assert_eq!(all, expected);
        // Channels are first in, first out: what one consumer passed on from one producer is
        // in that producer's order.
        for consumer in 1..=3 {
            for producer in ['A', 'B'] {
                let mine: Vec<u32> = received
                    .iter()
                    .filter(|&&(c, (p, _))| c == consumer && p == producer)
                    .map(|&(_, (_, n))| n)
                    .collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
            }
        }
    }

    #[test]
    fn select_sees_every_message_and_ends_when_both_close() {
        let events = select_with_timeout(TimeScale::new(0.01).unwrap());
        // Every message, each channel's in order; how the two channels interleave may vary.
        let quick: Vec<&str> =
            events.iter().map(|(_, e)| e.as_str()).filter(|e| e.starts_with("quick")).collect();
        assert_eq!(quick, ["quick 1", "quick 2", "quick 3"]);
        assert_eq!(events.iter().filter(|(_, e)| e == "slow answer").count(), 1);
    }

    #[test]
    fn std_mpsc_gets_every_message() {
        assert_eq!(std_mpsc(1000), 2000);
    }
}
