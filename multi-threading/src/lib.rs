//! The parts of the multi-threading chapter that its loom proofs check, kept here so that the
//! binaries and the proofs run the very same source:
//!
//! - [`pool`]: the hand-made thread pool of `thread-pool`, on a hand-made channel;
//! - [`counter`]: the counters of `race-condition` and `mutex-vs-atomic`.
//!
//! Both take their synchronisation types from `crate::sync`. Here that is `std`; the proofs
//! in `tests/loom.rs` include the same files with a `sync` module of loom's types instead, so
//! loom can run them under every interleaving. (The binaries keep `std`, untouched by loom.)
//!
//! # Data races do not compile
//!
//! Python lets two threads change one variable at once; Rust refuses to compile it. Two
//! threads that both increment a plain local variable:
//!
//! ```compile_fail,E0499
//! let mut counter = 0;
//! std::thread::scope(|s| {
//!     s.spawn(|| counter += 1);
//!     s.spawn(|| counter += 1); // error[E0499]: cannot borrow `counter` as mutable more than once at a time
//! });
//! ```
//!
//! A thread from `thread::spawn` may outlive the function that started it, so it may not
//! borrow that function's locals at all (`std::thread::scope` is the fix, see `scoped-threads`):
//!
//! ```compile_fail,E0373
//! let numbers = vec![1, 2, 3];
//! let handle = std::thread::spawn(|| numbers.len()); // error[E0373]: closure may outlive the current function
//! handle.join().unwrap();
//! ```
//!
//! (`cargo test` fails if either of these ever compiles; the error codes are checked only by
//! a nightly toolchain's rustdoc.) The fixes compile: a `Mutex` (or an atomic) shared by
//! reference between scoped threads.
//!
//! ```
//! let counter = std::sync::Mutex::new(0);
//! std::thread::scope(|s| {
//!     s.spawn(|| *counter.lock().unwrap() += 1);
//!     s.spawn(|| *counter.lock().unwrap() += 1);
//! });
//! assert_eq!(counter.into_inner().unwrap(), 2);
//! ```

pub mod counter;
pub mod pool;
pub mod reports;

/// The synchronisation types `counter` and `pool` use: std's here, loom's in the proofs.
mod sync {
    pub use std::sync::atomic::{AtomicU64, Ordering};
    pub use std::sync::{Arc, Condvar, Mutex};
    pub use std::thread;
}

/// The pool's tests live here, not in `pool.rs`, which the loom proofs include with loom's
/// types: these use std's threads and channels.
#[cfg(test)]
mod pool_tests {
    use crate::pool::{ThreadPool, channel};
    use std::sync::mpsc;
    use std::thread;

    #[test]
    fn runs_every_job_exactly_once_then_shuts_down() {
        let pool = ThreadPool::new("test", 3).unwrap();
        let (done, results) = mpsc::channel();
        for job in 0..100 {
            let done = done.clone();
            pool.execute(move || {
                done.send((job, thread::current().name().map(String::from))).unwrap()
            });
        }
        drop(done);
        pool.join();
        let mut results: Vec<_> = results.into_iter().collect();
        results.sort();
        assert_eq!(
            results.iter().map(|(job, _)| *job).collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>()
        );
        let names = ["test-1", "test-2", "test-3"].map(|n| Some(n.to_string()));
        assert!(results.iter().all(|(_, name)| names.contains(name)));
    }

    #[test]
    fn a_receiver_sees_queued_jobs_before_the_close() {
        let (sender, receiver) = channel();
        sender.send(Box::new(|| ()));
        drop(sender);
        assert!(receiver.recv().is_some(), "the queued job is still delivered");
        assert!(receiver.recv().is_none(), "then the closed, empty queue ends the loop");
    }
}
