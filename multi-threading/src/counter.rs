//! Three ways for threads to add one to a shared counter: one wrong, two right.

use crate::sync::{AtomicU64, Mutex, Ordering};

/// Adds one in two steps: read the value, then write the value plus one.
///
/// This version is problematic. Each step is atomic, so this is safe Rust and no data race,
/// but between the two steps another thread can read the same old value: both then write
/// the same new one, and one increment is lost. Use [`atomic_increment`] or
/// [`locked_increment`] instead.
pub fn racy_increment(counter: &AtomicU64) {
    let value = counter.load(Ordering::Relaxed);
    counter.store(value + 1, Ordering::Relaxed);
}

/// Adds one in a single indivisible step: the CPU's atomic read-modify-write.
pub fn atomic_increment(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds one while holding the lock, so no other thread can read or write in between.
pub fn locked_increment(counter: &Mutex<u64>) {
    *counter.lock().expect("counter lock poisoned") += 1;
}
