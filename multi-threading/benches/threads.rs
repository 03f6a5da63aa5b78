//! What threads cost: starting one, a shared increment by each method of `mutex-vs-atomic`,
//! and the hand-made pool of `thread-pool` against rayon on the prime workload.
//!
//! Run with: `cargo bench -p multi-threading --bench threads`

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use multi_threading::counter::{atomic_increment, locked_increment};
use multi_threading::pool::ThreadPool;
use rayon::prelude::*;
use shared::primes::{count_primes, is_prime, split_balanced};

fn spawn_join(c: &mut Criterion) {
    c.bench_function("thread spawn + join", |b| b.iter(|| thread::spawn(|| ()).join().unwrap()));
}

/// Increments per thread in each iteration of the counter benches.
const INCREMENTS: u64 = 100_000;

/// Runs `count` on two threads at once.
fn two_threads(count: impl Fn() + Sync) {
    thread::scope(|s| {
        s.spawn(&count);
        s.spawn(&count);
    });
}

fn counters(c: &mut Criterion) {
    let mut group = c.benchmark_group("2 threads × 100,000 increments");
    group.throughput(Throughput::Elements(2 * INCREMENTS));
    group.sample_size(20);
    group.bench_function("Mutex", |b| {
        b.iter(|| {
            let total = Mutex::new(0);
            two_threads(|| (0..INCREMENTS).for_each(|_| locked_increment(&total)));
            total.into_inner().unwrap()
        })
    });
    group.bench_function("fetch_add", |b| {
        b.iter(|| {
            let total = AtomicU64::new(0);
            two_threads(|| (0..INCREMENTS).for_each(|_| atomic_increment(&total)));
            total.into_inner()
        })
    });
    group.bench_function("partial sums", |b| {
        b.iter(|| {
            let total = AtomicU64::new(0);
            two_threads(|| {
                let mut mine = 0;
                for _ in 0..INCREMENTS {
                    mine = black_box(mine + 1);
                }
                total.fetch_add(mine, Ordering::Relaxed);
            });
            total.into_inner()
        })
    });
    group.finish();
}

fn pools(c: &mut Criterion) {
    const LIMIT: u64 = 1_000_000;
    let threads = thread::available_parallelism().map_or(2, |n| n.get());
    let mut group = c.benchmark_group("primes below 1,000,000");
    group.sample_size(10);
    let pool = ThreadPool::new("bench", threads).unwrap();
    group.bench_function(BenchmarkId::new("hand-made pool", threads), |b| {
        b.iter(|| {
            let (results, received) = mpsc::channel();
            for job in split_balanced(0..LIMIT, 8 * threads) {
                let results = results.clone();
                pool.execute(move || results.send(count_primes(job)).unwrap());
            }
            drop(results);
            received.iter().sum::<u64>()
        })
    });
    let rayon_pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    group.bench_function(BenchmarkId::new("rayon par_iter", threads), |b| {
        b.iter(|| {
            rayon_pool.install(|| (0..LIMIT).into_par_iter().filter(|&n| is_prime(n)).count())
        })
    });
    group.finish();
}

criterion_group!(benches, spawn_join, counters, pools);
criterion_main!(benches);
