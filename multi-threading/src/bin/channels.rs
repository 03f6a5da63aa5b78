//! Channels between threads: a pipeline with backpressure over crossbeam's bounded channels,
//! and std's `mpsc` beside them.
//!
//! 1. A pipeline of three stages over two *bounded* channels (room for `--capacity` items
//!    each): two producers send items, several consumers take them out, do slow work and pass
//!    them on, and a collector gathers them. When a channel is full, `send` blocks: the fast
//!    producers are held back to the speed of the slow stage — *backpressure* — instead of
//!    piling up items in memory; the timeline shows their blocked sends. A crossbeam
//!    `Receiver` is `Clone`: many consumers share one channel.
//! 2. std's `mpsc` ("multi-producer, single-consumer"): `Sender` is `Clone`, `Receiver` is
//!    not, so it has one consumer; several need `Arc<Mutex<Receiver>>` — or crossbeam.
//!
//! `select!` over several channels is the next binary, `channel-select`.
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
//! 2. std mpsc: 2 producers, 1 consumer (its Receiver cannot be cloned): received 6 of 6 messages.
//! ```

use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use crossbeam::channel;
use multi_threading::reports::{PipelinePlan, PipelineRan};
use shared::cli::{Common, Trace};
use shared::limits::CANNOT_START_THREADS;
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let work = args.common.time_scale.secs(args.work);
    let (items, consumers) = (args.items, args.consumers);
    let plan = PipelinePlan { items, capacity: args.capacity, consumers, work };
    plan.announce()?;
    let timeline = Timeline::new();
    let arrived = pipeline(items, args.capacity as usize, consumers, work, &timeline)
        .context(CANNOT_START_THREADS)?;
    // Backpressure, measured: the time the producers spent waiting for room in the channel.
    let elapsed = timeline.now();
    let blocked = timeline.total("blocked");
    let mpsc_received = std_mpsc(MPSC_MESSAGES_EACH).context(CANNOT_START_THREADS)?;

    let handled_by = arrived.iter().map(|d| d.consumer).collect();
    let last = arrived.last().map_or(String::new(), |d| d.item.to_string());
    let ran = PipelineRan { handled_by, last, elapsed, blocked, timeline, mpsc_received };
    plan.report(&ran, &args.trace, args.common.json)
}

/// The pipeline: producers A and B → bounded channel → `consumers` workers → bounded channel
/// → this thread, which collects. Returns what arrived, in the order it arrived.
fn pipeline(
    items: u32,
    capacity: usize,
    consumers: u32,
    work: Duration,
    timeline: &Timeline,
) -> io::Result<Vec<Delivered>> {
    let (to_consumers, from_producers) = channel::bounded::<Item>(capacity);
    let (to_collector, from_consumers) = channel::bounded(capacity);
    // `move`: the closure owns this thread's channel ends. If a thread cannot start, `?`
    // returns from it and drops them, before the scope joins the threads started so far:
    // every send and receive then fails, those threads stop, and the scope ends.
    thread::scope(move |s| {
        for producer in ['A', 'B'] {
            let to_consumers = to_consumers.clone();
            let lane = format!("producer {producer}");
            thread::Builder::new().spawn_scoped(s, move || {
                for n in 1..=items {
                    // Blocks while the channel is full: this is the backpressure (drawn on the
                    // timeline where it held the producer back for more than a millisecond).
                    let send = || to_consumers.send(Item { producer, n });
                    if timeline.measure_if_longer(SHOWN_IF_OVER, &lane, "blocked", send).is_err() {
                        return; // Every consumer is gone: the run is being abandoned.
                    }
                }
            })?;
        }
        for consumer in 1..=consumers {
            // A crossbeam `Receiver` is `Clone`: every consumer takes from the same channel.
            let (from_producers, to_collector) = (from_producers.clone(), to_collector.clone());
            thread::Builder::new().spawn_scoped(s, move || {
                for item in from_producers {
                    let label = item.to_string();
                    timeline.measure(format!("consumer {consumer}"), label, || thread::sleep(work));
                    if to_collector.send(Delivered { consumer, item }).is_err() {
                        return; // The collector is gone: the run is being abandoned.
                    }
                }
            })?;
        }
        // Drop this thread's other ends: each loop above ends when every sender of its channel
        // is gone and the channel is empty, and so does the collecting loop below.
        drop((to_consumers, from_producers, to_collector));
        Ok(from_consumers.iter().collect())
    })
}

/// std's `mpsc`: several producers (the `Sender` clones), one consumer.
fn std_mpsc(messages_each: u32) -> io::Result<usize> {
    let (tx, rx) = mpsc::channel::<u32>();
    for _ in 0..2 {
        let tx = tx.clone();
        // A send fails only if `rx` is gone (a later thread could not start): then it stops.
        thread::Builder::new().spawn(move || (0..messages_each).try_for_each(|n| tx.send(n)))?;
    }
    drop(tx);
    // `rx` cannot be cloned: this loop is the one consumer. It ends when every sender is gone.
    Ok(rx.into_iter().count())
}

/// Messages each of `std_mpsc`'s two producers sends.
const MPSC_MESSAGES_EACH: u32 = 3;

/// A producer's wait in `send` longer than this is drawn on the timeline as "blocked".
const SHOWN_IF_OVER: Duration = Duration::from_millis(1);

/// An item: which producer made it, and its number in that producer's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    producer: char,
    n: u32,
}

/// An item as the output shows it: `A3`.
impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.producer, self.n)
    }
}

/// An item as it reached the collector, with the consumer that handled it.
#[derive(Debug)]
struct Delivered {
    consumer: u32,
    item: Item,
}

/// A pipeline over bounded channels, and std mpsc.
#[derive(Debug, Parser)]
struct Args {
    /// Items each of the two producers sends
    #[arg(long, value_name = "N≤1000", default_value = "6",
          value_parser = shared::cli::whole::<u32>(1..=1000))]
    items: u32,
    /// Consumers sharing the pipeline's channel
    #[arg(long, value_name = "N≤16", default_value = "2",
          value_parser = shared::cli::whole::<u32>(1..=16))]
    consumers: u32,
    /// Room in the pipeline's bounded channel
    #[arg(long, value_name = "N≤1000", default_value = "2",
          value_parser = shared::cli::whole::<u32>(1..=1000))]
    capacity: u32,
    /// Simulated seconds of work per item in the consumers
    #[arg(long, value_name = "SECONDS", default_value_t = 0.1, value_parser = shared::cli::seconds)]
    work: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_delivers_every_item_once_in_order_per_producer() {
        // Room for two items: the producers are held back most of the time.
        let received = pipeline(50, 2, 3, Duration::ZERO, &Timeline::new()).unwrap();
        let mut all: Vec<Item> = received.iter().map(|d| d.item).collect();
        all.sort();
        let expected: Vec<Item> = ['A', 'B']
            .into_iter()
            .flat_map(|producer| (1..=50).map(move |n| Item { producer, n }))
            .collect();
        assert_eq!(all, expected);
        // Channels are first in, first out: what one consumer passed on from one producer is
        // in that producer's order.
        for consumer in 1..=3 {
            for producer in ['A', 'B'] {
                let mine: Vec<u32> = received
                    .iter()
                    .filter(|d| d.consumer == consumer && d.item.producer == producer)
                    .map(|d| d.item.n)
                    .collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
            }
        }
    }

    #[test]
    fn std_mpsc_gets_every_message() {
        assert_eq!(std_mpsc(1000).unwrap(), 2000);
    }
}
