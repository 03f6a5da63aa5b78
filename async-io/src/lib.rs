//! Plumbing shared by the async chapter's binaries (package `asyncio`; never the concept
//! itself), and the claim about `std::sync::Mutex` across `.await`, kept true by a doctest.
//!
//! # A std `MutexGuard` must not live across an `.await`
//!
//! `tokio::spawn` wants a future that is `Send` — on tokio's multi-thread runtime a task may
//! move to another thread at any `.await` (a `!Send` future needs `spawn_local`). A std `MutexGuard` is not `Send` (a lock must
//! be released by the thread that took it), so holding one across an `.await` does not
//! compile — "future cannot be sent between threads safely":
//!
//! ```compile_fail
//! use std::sync::{Arc, Mutex, PoisonError};
//! # async fn example() {
//! let total = Arc::new(Mutex::new(0));
//! tokio::spawn(async move {
//!     let mut guard = total.lock().unwrap();
//!     tokio::time::sleep(std::time::Duration::from_millis(1)).await; // the guard lives on
//!     *guard += 1;
//! });
//! # }
//! ```
//!
//! Either drop the guard before the `.await` (a block around the locked part), or use
//! `tokio::sync::Mutex`, whose guard may be held across an `.await`:
//!
//! ```
//! use std::sync::Arc;
//! # async fn example() {
//! let total = Arc::new(tokio::sync::Mutex::new(0));
//! tokio::spawn(async move {
//!     let mut guard = total.lock().await;
//!     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
//!     *guard += 1;
//! });
//! # }
//! ```

pub mod reports;

use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use shared::timeline::Span;
use tokio::time::Instant;

/// Prints each event with the time since the log started, on tokio's clock (which a test can
/// pause), and keeps them for the summary and the tests.
#[derive(Debug, Clone)]
pub struct Log {
    start: Instant,
    events: Arc<Mutex<Vec<(String, Duration)>>>,
}

impl Default for Log {
    fn default() -> Self {
        Self::new()
    }
}

impl Log {
    /// A log whose clock starts now.
    pub fn new() -> Self {
        Log { start: Instant::now(), events: Arc::default() }
    }

    /// Prints `  1.00 s  event` and records it. Both happen under one lock, so that the
    /// recorded order is the printed one even when tasks on several threads log at once.
    pub fn say(&self, event: impl Into<String>) -> io::Result<()> {
        let mut events = self.events.lock().expect("log lock poisoned");
        let (event, at) = (event.into(), self.start.elapsed());
        writeln!(shared::report::out(), "{}  {event}", shared::report::stamp(at))?;
        events.push((event, at));
        Ok(())
    }

    /// Time since the log started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Every event so far, with its time.
    pub fn events(&self) -> Vec<(String, Duration)> {
        self.events.lock().expect("log lock poisoned").clone()
    }

    /// Just the events, in order.
    pub fn order(&self) -> Vec<String> {
        self.events().into_iter().map(|(event, _)| event).collect()
    }

    /// The events that end with `suffix`, in order, with it cut off: `log.ended(" done")`
    /// gives the jobs in the order they finished.
    pub fn ended(&self, suffix: &str) -> Vec<String> {
        self.order().iter().filter_map(|e| e.strip_suffix(suffix)).map(String::from).collect()
    }

    /// The log as a timeline: a span on lane `who` for each event `"<who> starts"`, to the
    /// next event `"<who> <what>"` (labelled `<what>`: "done", "fails") or, if none came, to
    /// `until` (labelled "dropped"). `later` moves every span on, to draw a second log after a
    /// first on one chart.
    pub fn spans(&self, later: Duration, until: Duration) -> Vec<Span> {
        let events = self.events();
        let span = |(i, (event, start)): (usize, &(String, Duration))| {
            let who = event.strip_suffix(" starts")?;
            let ended = events[i + 1..].iter().find_map(|(e, at)| {
                e.strip_prefix(who)?.strip_prefix(' ').map(|what| (what.to_string(), *at))
            });
            let (label, end) = ended.unwrap_or(("dropped".to_string(), until));
            let (lane, start, end) = (who.to_string(), later + *start, later + end);
            Some(Span { lane, label, start, end })
        };
        events.iter().enumerate().filter_map(span).collect()
    }
}

/// This process's resident memory in bytes, where the OS tells it (Linux, macOS, Windows):
/// what `event-loop` and `tasks-vs-threads` divide among the tasks or threads waiting.
pub fn resident_bytes() -> Option<usize> {
    memory_stats::memory_stats().map(|stats| stats.physical_mem)
}

/// Runs `f`; if it panics, returns the panic's message instead of letting the panic hook print
/// it (with a note about backtraces). Only this thread's panics are kept quiet, and only while
/// `f` runs: a panic on another thread meanwhile is printed as usual. (In a build with
/// `panic = "abort"` there is nothing to catch: the process ends.)
pub fn panic_message(f: impl FnOnce()) -> Option<String> {
    // The hook is the process's: callers take turns, so each puts back the hook it found.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let quiet = std::thread::current().id();
    let previous: Arc<PanicHook> = Arc::from(panic::take_hook());
    let others = Arc::clone(&previous);
    panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != quiet {
            others(info);
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(Box::new(move |info| previous(info)));
    let payload = result.err()?;
    let text = payload.downcast_ref::<&str>().map(|s| s.to_string());
    Some(text.or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default())
}

/// What `std::panic::take_hook` returns.
type PanicHook = dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send + 'static;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    #[test]
    fn panic_message_quiets_only_the_calling_thread_and_restores_the_hook() {
        static PRINTED: AtomicUsize = AtomicUsize::new(0);
        panic::set_hook(Box::new(|_| {
            PRINTED.fetch_add(1, SeqCst);
        }));
        let message = panic_message(|| {
            // Another thread's panic meanwhile still reaches the hook.
            let other = std::thread::spawn(|| panic!("another thread"));
            assert!(other.join().is_err());
            panic!("this thread: {}", 42);
        });
        assert_eq!(message.as_deref(), Some("this thread: 42"));
        assert_eq!(PRINTED.load(SeqCst), 1);
        // The hook is back: a later panic reaches it too.
        assert!(std::thread::spawn(|| panic!("later")).join().is_err());
        assert_eq!(PRINTED.load(SeqCst), 2);
        assert_eq!(panic_message(|| ()), None);
        let _ = panic::take_hook(); // Back to the default hook for whatever runs next.
    }

    /// Each "x starts" becomes a span to x's next event, or to `until` if x never had one.
    #[tokio::test(start_paused = true)]
    async fn a_log_reads_as_spans_from_start_to_end() {
        let (log, ms) = (Log::new(), Duration::from_millis);
        log.say("job 1 starts").unwrap();
        log.say("job 2 starts").unwrap();
        tokio::time::sleep(ms(100)).await;
        log.say("job 1 done").unwrap();
        log.say("job 10 fails").unwrap(); // Not job 1's, nor a span of its own.
        let spans = log.spans(ms(1000), ms(300));
        let span = |lane: &str, label: &str, start, end| Span {
            lane: lane.into(),
            label: label.into(),
            start: ms(start),
            end: ms(end),
        };
        assert_eq!(
            spans,
            [span("job 1", "done", 1000, 1100), span("job 2", "dropped", 1000, 1300)]
        );
    }
}
