//! Benchmarks of the workload: the trial-division kernel, and what the balanced split buys
//! when two threads each take half of the jobs in a fixed order.
//!
//! Run with: `cargo bench -p shared --bench primes`

use std::hint::black_box;
use std::ops::Range;
use std::thread;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::primes::{count_primes, split_balanced, split_even};

/// Two threads, each counting every other job: a static schedule, so imbalance shows.
fn two_threads(jobs: &[Range<u64>]) -> u64 {
    thread::scope(|s| {
        let halves: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    jobs.iter().skip(t).step_by(2).cloned().map(count_primes).sum::<u64>()
                })
            })
            .collect();
        halves.into_iter().map(|h| h.join().expect("bench thread panicked")).sum()
    })
}

fn kernel(c: &mut Criterion) {
    c.bench_function("count_primes(0..200_000)", |b| {
        b.iter(|| count_primes(black_box(0..200_000)))
    });
}

fn splits(c: &mut Criterion) {
    let mut group = c.benchmark_group("two threads, primes below 1,000,000, 2 jobs");
    group.sample_size(10);
    let even = split_even(0..1_000_000, 2);
    let balanced = split_balanced(0..1_000_000, 2);
    group.bench_function("even split", |b| b.iter(|| two_threads(black_box(&even))));
    group.bench_function("balanced split", |b| b.iter(|| two_threads(black_box(&balanced))));
    group.finish();
}

criterion_group!(benches, kernel, splits);
criterion_main!(benches);
