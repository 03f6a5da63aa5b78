//! What `async fn` compiles to: a future written by hand, run by an executor written by hand.
//!
//! A `Future` has one method, `poll`: do as much work as you can, then return
//! `Poll::Ready(value)` or `Poll::Pending`. Before returning `Pending`, a future keeps the
//! `Waker` it was given, and whatever it waits for calls `wake()` later. An executor polls a
//! future, and when it is pending, waits for the wake-up and polls again. That is all an async
//! runtime is, at its core. 1. `Delay`, a leaf future with a timer thread; 2. `TwoSteps`, the
//! enum state machine the compiler makes from an `async fn` with two `.await`s; 3. `block_on`,
//! an executor in 15 lines; 4. the same steps as an `async fn`. No crate is used for any of it.
//! (Python's `send()`, a future that resumes with each value it is sent, is `coroutine-send`.)
//!
//! Mirrors: `coroutine.py` (a generator paused at `yield`, resumed by `next()`).
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
//! A state machine written by hand (TwoSteps), polled by an executor written by hand:
//!   0.00 s  poll: step one; a Delay starts its timer
//!   0.00 s  poll: the Delay is Pending, so TwoSteps returns Pending
//!   0.00 s  executor: Pending, so the thread parks until something wakes it
//!   0.50 s  poll: the Delay is Ready; step two; a new Delay starts
//! ```

use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use anyhow::Result;
use asyncio::reports::{coroutine, coroutine_part, coroutine_returned};
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, StampedLog, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(1)?;
    let wait = args.common.time_scale.secs(0.5);
    coroutine_part(1)?;
    let first = block_on(TwoSteps::Start { wait });
    notes_printed()?;
    coroutine_returned(first)?;
    coroutine_part(2)?;
    let second = block_on(two_steps(wait));
    notes_printed()?;
    coroutine_returned(second)?;
    Ok(coroutine([first, second], LOG.elapsed(), args.common.json)?)
}

/// Step 1, a leaf future: ready once `wait` has passed since its first poll.
struct Delay {
    wait: Duration,
    shared: Option<Arc<Mutex<TimerState>>>,
}

impl Delay {
    /// A delay that has not started: futures do nothing until polled.
    fn new(wait: Duration) -> Delay {
        Delay { wait, shared: None }
    }
}

/// What a `Delay` and its timer thread share.
struct TimerState {
    completed: bool,
    waker: Option<Waker>,
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let wait = self.wait;
        let shared = self.shared.get_or_insert_with(|| {
            // First poll: arrange our own wake-up — a thread that sleeps, then wakes us.
            let shared = Arc::new(Mutex::new(TimerState { completed: false, waker: None }));
            let timer = shared.clone();
            thread::spawn(move || {
                thread::sleep(wait);
                let mut state = timer.lock().expect("delay lock poisoned");
                state.completed = true;
                if let Some(waker) = state.waker.take() {
                    waker.wake();
                }
            });
            shared
        });
        let mut state = shared.lock().expect("delay lock poisoned");
        if state.completed {
            return Poll::Ready(());
        }
        // Not yet: keep the latest waker, so the timer wakes whoever polls us now.
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Step 2: what `async fn two_steps() { one; delay.await; two; delay.await; done }` compiles
/// to. Each variant is a place where the function can pause, holding what is alive there.
enum TwoSteps {
    Start { wait: Duration },
    FirstWait { wait: Duration, delay: Delay },
    SecondWait { delay: Delay },
    Done,
}

impl Future for TwoSteps {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        loop {
            // Each arm runs until the next `.await` of the async fn, then stores where to resume.
            match &mut *self {
                TwoSteps::Start { wait } => {
                    note("poll: step one; a Delay starts its timer");
                    // The Delay's timer starts when it is first polled: next time round this
                    // loop, in this same poll.
                    let delay = Delay::new(*wait);
                    *self = TwoSteps::FirstWait { wait: *wait, delay };
                }
                TwoSteps::FirstWait { wait, delay } => {
                    // `Pin::new`, and assigning through `Pin<&mut Self>` below, need `Unpin`:
                    // `Delay` and `TwoSteps` are. A compiler-made state machine is not (it may
                    // hold borrows of its own locals across an `.await`); written by hand, it
                    // would need `unsafe` pin projection (or `Box::pin`, or the pin-project
                    // crate) — one more reason to let the compiler write it.
                    if Pin::new(delay).poll(cx).is_pending() {
                        note("poll: the Delay is Pending, so TwoSteps returns Pending");
                        return Poll::Pending;
                    }
                    note("poll: the Delay is Ready; step two; a new Delay starts");
                    *self = TwoSteps::SecondWait { delay: Delay::new(*wait) };
                }
                TwoSteps::SecondWait { delay } => {
                    if Pin::new(delay).poll(cx).is_pending() {
                        note("poll: the Delay is Pending, so TwoSteps returns Pending");
                        return Poll::Pending;
                    }
                    note("poll: the Delay is Ready; done");
                    *self = TwoSteps::Done;
                    return Poll::Ready("two steps done");
                }
                TwoSteps::Done => panic!("TwoSteps polled after it was done"),
            }
        }
    }
}

/// Step 3, the executor: a waker that unparks this thread, and a loop that polls and parks.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        note("executor: Pending, so the thread parks until something wakes it");
        // If the wake-up came already, `park` returns at once; a spurious wake-up is harmless
        // too: the future is simply polled again.
        thread::park();
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Step 4: the same logic as an `async fn`: the compiler writes the state machine above.
async fn two_steps(wait: Duration) -> &'static str {
    note("step one");
    Delay::new(wait).await;
    note("step two");
    Delay::new(wait).await;
    note("done");
    "two steps done"
}

/// Where every note is printed, on one clock: it starts at the first note.
static LOG: LazyLock<StampedLog> = LazyLock::new(StampedLog::new);

/// A `poll` cannot return an I/O error: a note that could not be printed leaves its error
/// here, and `run` returns it once the future is done (a closed stdout ends quietly).
static UNPRINTED: Mutex<Option<io::Error>> = Mutex::new(None);

/// Prints a line with the time since the start, as it happens.
fn note(text: &str) {
    if let Err(err) = LOG.say(text) {
        UNPRINTED.lock().expect("notes lock poisoned").get_or_insert(err);
    }
}

fn notes_printed() -> io::Result<()> {
    UNPRINTED.lock().expect("notes lock poisoned").take().map_or(Ok(()), Err)
}

/// Futures and an executor by hand, then the same as async fn.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_hand_written_state_machine_and_the_async_fn_agree() {
        let (start, wait) = (Instant::now(), Duration::from_millis(5));
        assert_eq!(block_on(TwoSteps::Start { wait }), "two steps done");
        assert!(start.elapsed() >= 2 * wait, "both delays were waited for");
        assert_eq!(block_on(two_steps(wait)), "two steps done");
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
        block_on(Delay::new(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
