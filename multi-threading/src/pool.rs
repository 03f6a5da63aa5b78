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
    (Sender(queue.clone()), Receiver(queue))
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
            // Releases the lock while asleep, takes it again when woken.
            state = self.0.changed.wait(state).expect("queue lock poisoned");
        }
    }
}

/// `size` threads named `{name}-1`, `{name}-2`, … that run the jobs given to [`execute`].
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
        for worker in self.workers.drain(..) {
            // Pass a job's panic on — unless this thread is already unwinding from a panic
            // of its own, where a second one would abort the process.
            if worker.join().is_err() && !std::thread::panicking() {
                panic!("a job panicked on a pool thread");
            }
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shut_down();
    }
}
