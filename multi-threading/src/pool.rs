//! A thread pool by hand: a fixed set of threads that run boxed jobs from a shared queue.
//!
//! The queue is a channel written out in full — a `Mutex` around a `VecDeque` of jobs and a
//! `Condvar` that wakes a waiting worker — to show what a channel does inside (and because
//! loom, which proves this pool in `tests/loom.rs`, cannot see inside crossbeam's channels).
//! Shutdown works as with any channel: the pool drops its [`Sender`], which marks the queue
//! closed and wakes every worker; each worker finishes the jobs still queued, sees the queue
//! empty and closed, and returns; the pool joins them all.

use std::collections::VecDeque;

use crate::sync::{Arc, Condvar, Mutex, thread};

/// A job for the pool: any closure that runs once and may move to another thread.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// What the sending and the receiving ends share.
struct Queue {
    state: Mutex<State>,
    /// Signalled when a job arrives or the queue closes.
    changed: Condvar,
}

struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// The sending end: queues jobs; dropping it closes the queue.
pub struct Sender(Arc<Queue>);

/// A receiving end; every worker holds a clone.
#[derive(Clone)]
pub struct Receiver(Arc<Queue>);

/// A channel of jobs with any number of receivers.
pub fn channel() -> (Sender, Receiver) {
    let queue = Arc::new(Queue {
        state: Mutex::new(State { jobs: VecDeque::new(), closed: false }),
        changed: Condvar::new(),
    });
    (Sender(Arc::clone(&queue)), Receiver(queue))
}

impl Sender {
    /// Queues `job` and wakes one waiting worker.
    pub fn send(&self, job: Job) {
        self.0.state.lock().expect("queue lock poisoned").jobs.push_back(job);
        self.0.changed.notify_one();
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.0.state.lock().expect("queue lock poisoned").closed = true;
        // Every worker must wake up to see the queue closed: `notify_one` would leave the
        // others waiting for ever (a deadlock the loom proof catches at once).
        self.0.changed.notify_all();
    }
}

impl Receiver {
    /// The next job, waiting for one if the queue is empty; `None` once it is empty and closed.
    pub fn recv(&self) -> Option<Job> {
        let mut state = self.0.state.lock().expect("queue lock poisoned");
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            // Releases the lock while asleep, takes it again when woken. Waking is no promise
            // of a job (another worker may have taken it, or the wake-up is spurious): the
            // loop checks again.
            state = self.0.changed.wait(state).expect("queue lock poisoned");
        }
    }
}

/// `size` threads named `{name}-1`, `{name}-2`, … that run the jobs given to [`execute`].
/// A job that panics ends its thread, and the pool runs on with one thread fewer; the panic
/// is reported when the pool is joined.
///
/// [`execute`]: ThreadPool::execute
pub struct ThreadPool {
    sender: Option<Sender>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts the threads; each runs jobs until the queue is closed and empty.
    ///
    /// # Panics
    /// If `size` is 0: the jobs would never run.
    pub fn new(name: &str, size: usize) -> std::io::Result<ThreadPool> {
        assert!(size > 0, "a thread pool needs at least one thread");
        let (sender, receiver) = channel();
        let workers = (1..=size)
            .map(|i| {
                let receiver = receiver.clone();
                thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                    while let Some(job) = receiver.recv() {
                        job();
                    }
                })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(ThreadPool { sender: Some(sender), workers })
    }

    /// Queues a job for the next free thread.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.sender.as_ref().expect("the pool is running").send(Box::new(job));
    }

    /// Lets every queued job finish, then stops the threads (dropping the pool does the same).
    pub fn join(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        drop(self.sender.take());
        // Join every worker first: a panic in the middle of this loop would leave the rest
        // running, detached.
        let mut a_job_panicked = false;
        for worker in self.workers.drain(..) {
            a_job_panicked |= worker.join().is_err();
        }
        // Report a job's panic — unless this thread is already unwinding from a panic of its
        // own, where a second one would abort the process.
        if a_job_panicked && !std::thread::panicking() {
            panic!("a job panicked on a pool thread");
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shut_down();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    /// A job's panic is reported when the pool is joined, and only after every other queued
    /// job has run: the pool joins all its threads before it panics.
    #[test]
    fn a_panicking_job_is_reported_once_every_other_job_has_run() {
        let (ran, panicked) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let pool = ThreadPool::new("test", 2).unwrap();
        for _ in 0..50 {
            let (ran, panicked) = (Arc::clone(&ran), Arc::clone(&panicked));
            pool.execute(move || {
                // The first thread, joined first, dies on its first job; the second works on.
                if std::thread::current().name() == Some("test-1") {
                    panicked.store(true, Ordering::Relaxed);
                    panic!("a bug in a job");
                }
                while !panicked.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(10));
                ran.fetch_add(1, Ordering::Relaxed);
            });
        }
        let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.join()));
        assert!(joined.is_err(), "the job's panic is reported");
        assert_eq!(ran.load(Ordering::Relaxed), 49);
    }
}
