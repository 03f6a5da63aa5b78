//! Three ways for threads to add one to a shared counter: one wrong, two right.

use crate::sync::{AtomicU64, Mutex, Ordering};

/// Adds one in two steps: read the value, then write the value plus one.
///
/// This version is wrong on purpose. Each step is atomic, so this is safe Rust and no data
/// race, but between the two steps another thread can change the counter: the store then
/// overwrites every increment made since the load (one, when both read the same old value;
/// many, when this thread was paused in between). Use [`atomic_increment`] or
/// [`locked_increment`] instead.
pub fn racy_increment(counter: &AtomicU64) {
    let value = counter.load(Ordering::Relaxed);
    counter.store(value + 1, Ordering::Relaxed);
}

/// Adds one in a single indivisible step: the CPU's atomic read-modify-write.
pub fn atomic_increment(counter: &AtomicU64) {
    // `Relaxed` is enough: only the count itself must be exact, nothing else is published
    // through it, and joining the threads orders the final read after every increment.
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds one while holding the lock, so no other thread can read or write in between.
pub fn locked_increment(counter: &Mutex<u64>) {
    *counter.lock().expect("counter lock poisoned") += 1;
}
