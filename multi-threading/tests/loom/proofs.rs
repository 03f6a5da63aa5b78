//! The proofs themselves (compiled only with `--cfg loom`; see `tests/loom.rs`).

use std::collections::BTreeSet;

use loom::sync::Arc;
use loom::thread;

/// What `counter.rs` and `pool.rs` take from `crate::sync`: here, loom's versions.
pub mod sync {
    pub use loom::sync::atomic::{AtomicU64, Ordering};
    pub use loom::sync::{Arc, Condvar, Mutex};
    pub use loom::thread;
}

#[path = "../../src/counter.rs"]
mod counter;
#[path = "../../src/pool.rs"]
mod pool;

/// Every final value two threads can leave when each adds one to a counter starting at 0.
/// The outcomes are gathered in a std (not loom) set, outside the model.
fn outcomes<C: Send + Sync + 'static>(
    new: fn() -> C,
    increment: fn(&C),
    value: fn(&C) -> u64,
) -> BTreeSet<u64> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let record = seen.clone();
    loom::model(move || {
        let counter = Arc::new(new());
        let other = {
            let counter = counter.clone();
            thread::spawn(move || increment(&counter))
        };
        increment(&counter);
        other.join().unwrap();
        record.lock().unwrap().insert(value(&counter));
    });
    let seen = seen.lock().unwrap().clone();
    seen
}

#[test]
fn load_then_store_can_lose_an_update() {
    let seen = outcomes(
        || sync::AtomicU64::new(0),
        counter::racy_increment,
        |c| c.load(sync::Ordering::SeqCst),
    );
    // loom found the interleaving where both threads read 0: the result is 1, not 2.
    assert_eq!(seen, BTreeSet::from([1, 2]));
}

#[test]
fn fetch_add_never_loses_an_update() {
    let seen = outcomes(
        || sync::AtomicU64::new(0),
        counter::atomic_increment,
        |c| c.load(sync::Ordering::SeqCst),
    );
    assert_eq!(seen, BTreeSet::from([2]));
}

#[test]
fn a_mutex_never_loses_an_update() {
    let seen = outcomes(|| sync::Mutex::new(0), counter::locked_increment, |c| *c.lock().unwrap());
    assert_eq!(seen, BTreeSet::from([2]));
}

/// Two workers and `jobs` jobs: in every interleaving, each job runs exactly once and the
/// shutdown (drop the sender, join the workers) ends — loom reports a deadlock otherwise.
fn pool_model(jobs: usize) {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(3);
    model.check(move || {
        let runs = Arc::new(sync::Mutex::new(vec![0; jobs]));
        let pool = pool::ThreadPool::new("loom", 2).unwrap();
        for job in 0..jobs {
            let runs = runs.clone();
            pool.execute(move || runs.lock().unwrap()[job] += 1);
        }
        pool.join();
        assert_eq!(*runs.lock().unwrap(), vec![1; jobs]);
    });
}

#[test]
fn the_pool_runs_two_jobs_once_each_and_always_shuts_down() {
    pool_model(2);
}

#[test]
fn the_pool_runs_three_jobs_once_each_and_always_shuts_down() {
    pool_model(3);
}
