//! Python's `generator.send()`, in async Rust: a future that pauses until a value arrives,
//! and resumes with it.
//!
//! A Python coroutine paused at `x = yield` resumes when the caller does `gen.send(value)`.
//! Here the paused side is a future awaiting the next value on a channel (`receiver.next()`),
//! and the sending side is another future. `join!` polls both on one thread. With
//! `channel(0)` each `send` waits until the receiver has taken the value (it is held in the
//! sender's own slot, and `send` also flushes, which waits for the receiver), so the two take
//! turns — send, resume, send, resume — as a generator and its caller do. Dropping the sender
//! ends the receiver's loop, like `gen.close()`. (tokio's `mpsc::channel(0)` panics instead.)
//!
//! Mirrors: `coroutine.py` (`send()`), beside `coroutine`, which shows what `.await` is.
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin coroutine-send
//! ```
//!
//! Expected output:
//!
//! ```text
//! A receiving future and a sending one, taking turns on one thread:
//!   send(10)
//!   the receiver resumes with 10
//!   send(20)
//!   the receiver resumes with 20
//! ```

use std::io::{self, Write};

use anyhow::Result;
use asyncio::reports::coroutine_send;
use clap::Parser;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed, out};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    writeln!(out(), "A receiving future and a sending one, taking turns on one thread:")?;
    let received = futures::executor::block_on(send_and_receive(&[10, 20, 30]))?;
    Ok(coroutine_send(&received, args.common.json)?)
}

/// Sends `values` to a future that waits for each one; returns what it received.
async fn send_and_receive(values: &[u32]) -> io::Result<Vec<u32>> {
    let (mut sender, mut receiver) = mpsc::channel::<u32>(0);
    let receiving = async move {
        let mut received = Vec::new();
        // Pauses here until a value comes, like `x = yield`; ends when the sender is gone.
        while let Some(value) = receiver.next().await {
            writeln!(out(), "  the receiver resumes with {value}")?;
            received.push(value);
        }
        io::Result::Ok(received)
    };
    let sending = async move {
        for &value in values {
            writeln!(out(), "  send({value})")?;
            // Waits until the receiver has taken the value: `channel(0)` keeps it in this
            // sender's slot, and the flush in `send` waits until the receiver takes it.
            if sender.send(value).await.is_err() {
                break; // The receiver is gone (it failed to print): it reports why.
            }
        }
        io::Result::Ok(()) // Dropping the sender ends the receiver's loop, like `gen.close()`.
    };
    let (received, sent) = futures::join!(receiving, sending);
    sent?;
    received
}

/// A future that receives values, as a generator does with `send()`.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_gets_every_value_in_order() {
        let received = futures::executor::block_on(send_and_receive(&[1, 2, 3, 4])).unwrap();
        assert_eq!(received, [1, 2, 3, 4]);
    }
}
