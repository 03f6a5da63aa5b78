//! What `async fn` compiles to: a future written by hand, run by an executor written by hand.
//!
//! A `Future` is a value with a `poll` method. Each call does as much work as it can and
//! returns `Poll::Ready(value)` or `Poll::Pending` ("not yet"). Before returning `Pending`, a
//! future arranges to be woken: it keeps the `Waker` from the `Context`, and whatever it
//! waits for calls `wake()` later. An executor polls a future, and when it is pending, waits
//! for the wake-up and polls again. That is all an async runtime is, at its core.
//!
//! 1. `Delay`, a leaf future: on its first poll it starts a timer thread that will wake it,
//!    and returns `Pending`; polled again after the wake-up, it is `Ready`.
//! 2. `TwoSteps`, written as the enum state machine the compiler makes from an `async fn`
//!    with two `.await`s: each poll resumes at the state where the last one stopped.
//! 3. `block_on`, an executor in 15 lines: a `Waker` (from `std::task::Wake`) that unparks
//!    this thread, and a loop that polls and parks.
//! 4. The same steps as an `async fn`, run by the same `block_on` — the same output.
//! 5. Python's `generator.send()`: a future that receives values over a channel.
//!
//! No runtime crate is used until step 5 (which takes a channel from the `futures` crate).
//!
//! Mirrors: `coroutine.py` (a generator paused at `yield`, resumed by `next()`/`send()`).
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin coroutine
//! ```
//!
//! Expected output:
//!
//! ```text
//! 1-3. A state machine written by hand, polled by a hand-written executor:
//!   0.00 s  poll: step one; a Delay starts its timer
//!   0.00 s  poll: the Delay is Pending, so TwoSteps returns Pending
//!   0.00 s  executor: Pending, so the thread parks until something wakes it
//!   0.50 s  poll: the Delay is Ready; step two; a new Delay starts
//!   0.50 s  poll: the Delay is Pending, so TwoSteps returns Pending
//!   0.50 s  executor: Pending, so the thread parks until something wakes it
//!   1.00 s  poll: the Delay is Ready; done
//!          -> two steps done
//! ```

use std::future::Future;
use std::io::Write;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use shared::cli::Common;
use shared::report::{ok_if_stdout_closed, out, print_json};

fn main() -> Result<()> {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let wait = args.common.time_scale.secs(0.5);
    let start = Instant::now();
    writeln!(out(), "1-3. A state machine written by hand, polled by a hand-written executor:")?;
    let first = block_on(TwoSteps::Start { start, wait }, start);
    writeln!(out(), "         -> {first}\n\n4. The same as an async fn, on the same executor:")?;
    let second = block_on(two_steps(start, wait), start);
    writeln!(out(), "         -> {second}\n\n5. send(): a future receives values over a channel:")?;
    let received = block_on(receiver_and_sender(start), start);
    writeln!(
        out(),
        "\nThe future ran only when polled, paused at each Pending and resumed where it stopped \
         when woken: that is what .await does. The receiver got {received} values."
    )?;
    if args.common.json {
        let elapsed_s = start.elapsed().as_secs_f64();
        print_json(&Summary { results: [first, second], received, elapsed_s })?;
    }
    Ok(())
}

/// Futures and an executor by hand, then the same as async fn.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

/// Prints a line with the time since the program started.
fn say(start: Instant, text: &str) {
    // A closed stdout only loses these lines; `main`'s own writes end the program.
    let _ = writeln!(out(), "{:6.2} s  {text}", start.elapsed().as_secs_f64());
}

/// What a `Delay` and its timer thread share: whether the time is up, and whom to wake.
type TimerState = Arc<Mutex<(bool, Option<Waker>)>>;

/// A leaf future (step 1): ready once `delay` has passed.
struct Delay {
    delay: Duration,
    shared: Option<TimerState>,
}

impl Delay {
    fn new(delay: Duration) -> Self {
        Delay { delay, shared: None }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let delay = self.delay;
        let shared = self.shared.get_or_insert_with(|| {
            // First poll: arrange our own wake-up — a thread that sleeps, then wakes us.
            let shared: TimerState = Arc::new(Mutex::new((false, None)));
            let timer = shared.clone();
            thread::spawn(move || {
                thread::sleep(delay);
                let mut state = timer.lock().expect("delay lock poisoned");
                state.0 = true;
                if let Some(waker) = state.1.take() {
                    waker.wake();
                }
            });
            shared
        });
        let mut state = shared.lock().expect("delay lock poisoned");
        if state.0 {
            return Poll::Ready(());
        }
        // Not yet: keep the latest waker, so the timer wakes whoever polls us now.
        state.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Step 2: what `async fn two_steps() { one; delay.await; two; delay.await; done }` compiles to.
enum TwoSteps {
    Start { start: Instant, wait: Duration },
    FirstWait { start: Instant, wait: Duration, delay: Delay },
    SecondWait { start: Instant, delay: Delay },
    Done,
}

impl Future for TwoSteps {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        loop {
            // Each arm runs until the next `.await` of the async fn, then stores where to resume.
            match &mut *self {
                TwoSteps::Start { start, wait } => {
                    say(*start, "poll: step one; a Delay starts its timer");
                    *self = TwoSteps::FirstWait {
                        start: *start,
                        wait: *wait,
                        delay: Delay::new(*wait),
                    };
                }
                TwoSteps::FirstWait { start, wait, delay } => {
                    if Pin::new(delay).poll(cx).is_pending() {
                        say(*start, "poll: the Delay is Pending, so TwoSteps returns Pending");
                        return Poll::Pending;
                    }
                    say(*start, "poll: the Delay is Ready; step two; a new Delay starts");
                    *self = TwoSteps::SecondWait { start: *start, delay: Delay::new(*wait) };
                }
                TwoSteps::SecondWait { start, delay } => {
                    if Pin::new(delay).poll(cx).is_pending() {
                        say(*start, "poll: the Delay is Pending, so TwoSteps returns Pending");
                        return Poll::Pending;
                    }
                    say(*start, "poll: the Delay is Ready; done");
                    *self = TwoSteps::Done;
                    return Poll::Ready("two steps done");
                }
                TwoSteps::Done => panic!("TwoSteps polled after it was done"),
            }
        }
    }
}

/// Step 4: the same logic as an `async fn`: the compiler writes the state machine above.
async fn two_steps(start: Instant, wait: Duration) -> &'static str {
    say(start, "step one");
    Delay::new(wait).await;
    say(start, "step two");
    Delay::new(wait).await;
    say(start, "done");
    "two steps done"
}

/// Step 3, the executor: a waker that unparks this thread, and a loop that polls and parks.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(future: F, start: Instant) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        say(start, "executor: Pending, so the thread parks until something wakes it");
        // If the wake-up came already, `park` returns at once; a spurious wake-up is harmless
        // too: the future is simply polled again.
        thread::park();
    }
}

/// Step 5, Python's `send()`: a future that receives values over a channel, as they are
/// sent, run beside the sending one by `join!`.
async fn receiver_and_sender(start: Instant) -> usize {
    let (mut sender, mut receiver) = futures::channel::mpsc::channel::<u32>(0);
    let receiving = async move {
        let mut received = 0;
        while let Some(value) = receiver.next().await {
            say(start, &format!("the receiver resumes with {value}"));
            received += 1;
        }
        received
    };
    let sending = async move {
        for value in [10, 20, 30] {
            say(start, &format!("send({value})"));
            sender.send(value).await.expect("the receiver is alive");
        }
        // Dropping the sender ends the receiver's loop, like closing a generator.
    };
    futures::join!(receiving, sending).0
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    results: [&'static str; 2],
    received: usize,
    elapsed_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_state_machine_and_the_async_fn_agree() {
        let (start, wait) = (Instant::now(), Duration::from_millis(5));
        assert_eq!(block_on(TwoSteps::Start { start, wait }, start), "two steps done");
        assert!(start.elapsed() >= 2 * wait, "both delays were waited for");
        assert_eq!(block_on(two_steps(start, wait), start), "two steps done");
    }

    #[test]
    fn a_delay_is_pending_until_its_timer_wakes_it() {
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        // A delay of a minute is surely still pending right after its first poll.
        let mut long = pin!(Delay::new(Duration::from_secs(60)));
        assert!(long.as_mut().poll(&mut cx).is_pending());
        // A short one returns from `block_on` only once its timer has woken it.
        let start = Instant::now();
        block_on(Delay::new(Duration::from_millis(20)), start);
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn the_receiver_gets_every_value() {
        assert_eq!(block_on(receiver_and_sender(Instant::now()), Instant::now()), 3);
    }
}
