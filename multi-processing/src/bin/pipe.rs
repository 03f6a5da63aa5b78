//! Messages through an OS pipe: a child writes lines into it, the parent reads them as they
//! come, until "END".
//!
//! The child's stdout is a pipe whose other end the parent holds. The child writes one
//! message per line, waiting `--wait` between them, and "END" last; the parent reads line by
//! line and stops at "END". A pipe carries bytes, one way, between exactly two ends: the
//! messages' framing (one per line) and their end ("END", or the pipe closing) are up to the
//! two programs. A queue (the `queue` example) carries whole messages, and many senders can
//! share one.
//!
//! Mirrors: `pipeSharing.py` (messages over a `Pipe`, ending with "END") of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin pipe
//! cargo run -p multi-processing --bin pipe -- hello from the child --wait 0.5
//! ```
//!
//! Expected output (times vary a little):
//!
//! ```text
//! The child writes 4 messages into a pipe, 200 ms apart; the parent reads them as they come.
//!
//!   0.00 s  read "hello"
//!   0.20 s  read "world"
//!   0.40 s  read "through a"
//!   0.60 s  read "pipe"
//!   0.60 s  read "END": the last message
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use multi_processing::reports::{pipe_arrived, pipe_plan};
use multi_processing::{ChildRole, Worker, exit_with_parent};
use shared::cli::Common;
use shared::report::{MainResult, StampedLog, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    if args.child.is("send") {
        exit_with_parent();
        return Ok(send(&args)?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(receive(&args))
}

/// The child: one message per line into its stdout — the pipe — then "END".
fn send(args: &Args) -> Result<()> {
    let mut pipe = std::io::stdout().lock();
    for (i, message) in args.messages.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(args.common.time_scale.secs(args.wait));
        }
        writeln!(pipe, "{message}")?;
        pipe.flush()?; // Send it now, not when a buffer fills.
    }
    writeln!(pipe, "END")?;
    Ok(())
}

/// The parent: start the child, then read its pipe line by line until "END".
fn receive(args: &Args) -> Result<()> {
    pipe_plan(args.messages.len(), args.common.time_scale.secs(args.wait))?;
    let mut child = start_sender(args)?;
    let pipe = BufReader::new(child.child().stdout.take().context("no pipe")?);
    let got = read_until_end(pipe)?;
    child.finish("the child")?; // If it failed, that explains a missing "END" best.
    let Received { messages, elapsed } = got.context("the pipe closed before \"END\"")?;
    pipe_arrived(&args.messages, &messages, elapsed, args.common.json)
}

/// What came through the pipe before "END", and when "END" came.
struct Received {
    messages: Vec<String>,
    elapsed: Duration,
}

/// Reads messages, printing each as it comes, until "END"; `None` if the pipe closed first.
fn read_until_end(pipe: impl BufRead) -> io::Result<Option<Received>> {
    let (log, mut messages) = (StampedLog::new(), Vec::new());
    for line in pipe.lines() {
        let line = line?;
        if line == "END" {
            log.say("read \"END\": the last message")?;
            return Ok(Some(Received { messages, elapsed: log.elapsed() }));
        }
        log.say(format!("read {line:?}"))?;
        messages.push(line);
    }
    Ok(None)
}

/// Starts this executable again as the child, its stdout piped to us, with the messages.
fn start_sender(args: &Args) -> Result<Worker> {
    let scale = args.common.time_scale;
    let mut passed = vec![format!("--wait={}", args.wait), format!("--time-scale={scale}")];
    // `--` first, so that a message such as "-x" reaches the child as a message, not a flag.
    passed.push("--".to_string());
    passed.extend(args.messages.iter().cloned());
    Worker::start("send", &passed, |command| {
        command.stdout(Stdio::piped());
    })
    .context("starting the child")
}

/// Send messages from a child to its parent through an OS pipe, ending with "END".
#[derive(Debug, Parser)]
struct Args {
    /// The messages the child sends (each on its own line; none may be "END"; at most 1,000)
    #[arg(default_values_t = ["hello".to_string(), "world".into(), "through a".into(), "pipe".into()],
          num_args = 1..=1000, value_parser = message)]
    messages: Vec<String>,
    /// Simulated seconds between two messages
    #[arg(long, value_name = "SECONDS", default_value_t = 0.2, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}

/// A message the framing can carry: one message per line, so neither a line break nor a
/// carriage return (which a line reader drops before a line break), and not "END".
fn message(text: &str) -> Result<String, String> {
    if text == "END" || text.contains(['\n', '\r']) {
        return Err(
            "a message may not be \"END\" or contain a line break or a carriage return".into()
        );
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_at_end_and_keeps_every_message_before_it() {
        let read = read_until_end("one\n-x\nEND\nafter the end\n".as_bytes()).unwrap();
        assert_eq!(read.unwrap().messages, ["one", "-x"]);
    }

    #[test]
    fn a_pipe_that_closes_before_end_reads_as_none() {
        assert!(read_until_end("one\ntwo\n".as_bytes()).unwrap().is_none());
    }
}
