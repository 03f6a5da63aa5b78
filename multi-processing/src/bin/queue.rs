//! A queue between processes: a producer child sends items over an ipc-channel, a consumer
//! child takes them until the channel closes — set up by the parent, which then steps aside.
//!
//! Each child connects to the parent through ipc-channel's one-shot server
//! (`Worker::start_connected`) and sends back a sender for its setup. The parent makes one
//! channel of items and hands its two ends out *inside messages*: the sending end to the
//! producer, the receiving end to the consumer. It keeps neither, so when the producer has
//! sent its last item and exits, the channel has no sender left and the consumer's `recv`
//! returns `Disconnected`: the consumer stops because the queue is closed, not because it
//! counted. It then reports what it got, when, on the parent's clock.
//!
//! Mirrors: `queueSharing.py` (one process fills a queue, another drains it) of the Python
//! original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin queue
//! cargo run -p multi-processing --bin queue -- --items 100 --wait 0.01
//! ```
//!
//! Expected output:
//!
//! ```text
//! A producer process sends 5 items, 100 ms apart, to a consumer process, over an ipc-channel.
//! ```

use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use ipc_channel::IpcError;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multi_processing::reports::{Arrival, queue, queue_plan};
use multi_processing::{ChildRole, Worker, connect_to_parent, exit_with_parent};
use multi_processing::{quiet_if_hung_up, role_name};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    // The role only names the process (in `ps`, in errors); its `Setup` says what it does.
    if args.child.role::<Role>().is_some() {
        // Its flags first: a missing one is a usage error, whatever the state of the lifeline.
        let (connect, clock) = (args.child.connect(), args.child.clock());
        exit_with_parent();
        return Ok(quiet_if_hung_up(run_worker(connect, clock))?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let wait = args.common.time_scale.secs(args.wait);
    queue_plan(args.items, wait)?;
    let timeline = Timeline::new();
    let clock = [format!("--clock={}", timeline.origin_token())];
    let start =
        |role| Worker::start_connected::<IpcSender<Setup>>(&role_name(&role), &clock, |_| {});
    let (producer, to_producer) = start(Role::Producer).context("starting the producer")?;
    let (consumer, to_consumer) = start(Role::Consumer).context("starting the consumer")?;

    // The queue, and a channel for the consumer's report. Both ends of the queue go to the
    // children; the parent keeps none, so the producer's exit closes the queue.
    let (items_in, items_out) = ipc::channel::<Item>()?;
    let (report_in, report_out) = ipc::channel::<Received>()?;
    to_consumer.send(Setup::Consume { from: items_out, report: report_in })?;
    to_producer.send(Setup::Produce { to: items_in, items: args.items, wait })?;

    // If the consumer dies, its report sender goes with it: `Disconnected`, not a hang.
    let received = report_out.recv().context("the consumer ended without a report")?;
    producer.finish("the producer")?;
    consumer.finish("the consumer")?;

    queue(args.items, &received, args.common.json)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Producer,
    Consumer,
}

/// One item on the queue, stamped with when it was sent (seconds on the parent's clock).
#[derive(Debug, Serialize, Deserialize)]
struct Item {
    n: u32,
    sent_s: f64,
}

/// What the consumer got: each item, with when it arrived.
type Received = Vec<Arrival>;

/// What the parent sends each child once it has connected.
#[derive(Serialize, Deserialize)]
enum Setup {
    Produce { to: IpcSender<Item>, items: u32, wait: Duration },
    Consume { from: IpcReceiver<Item>, report: IpcSender<Received> },
}

/// A child: connect, get the setup, then produce or consume.
fn run_worker(connect: &str, clock: &str) -> Result<()> {
    let timeline = Timeline::aligned_to(clock)?;
    let (setup_sender, setup) = ipc::channel::<Setup>()?;
    connect_to_parent(connect, setup_sender)?;
    match setup.recv()? {
        Setup::Produce { to, items, wait } => produce(to, items, wait, &timeline),
        Setup::Consume { from, report } => {
            let received = consume(from, &timeline)?;
            Ok(report.send(received)?)
        }
    }
}

/// The producer: `items` items onto the queue, one every `wait`.
fn produce(to: IpcSender<Item>, items: u32, wait: Duration, timeline: &Timeline) -> Result<()> {
    for n in 1..=items {
        std::thread::sleep(wait); // Stand-in for making the item.
        to.send(Item { n, sent_s: timeline.now().as_secs_f64() })?;
    }
    Ok(()) // `to` is dropped here: the queue's last sender is gone.
}

/// The consumer: every item, with when it arrived, until the queue is closed.
fn consume(from: IpcReceiver<Item>, timeline: &Timeline) -> Result<Received> {
    let mut received = Received::new();
    loop {
        match from.recv() {
            Ok(Item { n, sent_s }) => {
                received.push(Arrival { n, sent_s, got_s: timeline.now().as_secs_f64() })
            }
            // Every sender is gone and nothing is left: the queue is closed.
            Err(IpcError::Disconnected) => return Ok(received),
            Err(err) => return Err(err.into()),
        }
    }
}

/// A producer and a consumer process, joined by an ipc-channel the parent sets up.
#[derive(Debug, Parser)]
struct Args {
    /// Items the producer sends
    #[arg(long, value_name = "N≤10000", default_value = "5",
          value_parser = shared::cli::whole::<u32>(1..=10_000))]
    items: u32,
    /// Simulated seconds the producer takes to make each item
    #[arg(long, value_name = "SECONDS", default_value_t = 0.1, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_gets_every_item_once_in_order_then_the_queue_closes() {
        let (to, from) = ipc::channel::<Item>().unwrap();
        let (done, consumed) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(consume(from, &Timeline::new()).unwrap()));
        produce(to, 5, Duration::ZERO, &Timeline::new()).unwrap();
        // `consume` returns only once the queue has closed: the producer's sender is gone.
        let received = consumed.recv_timeout(Duration::from_secs(10)).expect("never closed");
        assert_eq!(received.iter().map(|a| a.n).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    }
}
