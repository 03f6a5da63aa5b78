//! What async costs: spawning and awaiting one task on each of tokio's runtimes and on smol's
//! executors, a `oneshot` round trip between two tasks, and 10,000 timers at once on tokio and
//! on smol.
//!
//! Run with: `cargo bench -p asyncio --bench tasks`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};

fn runtimes() -> [(&'static str, Runtime); 2] {
    [
        ("current-thread", Builder::new_current_thread().enable_time().build().unwrap()),
        ("multi-thread", Builder::new_multi_thread().enable_time().build().unwrap()),
    ]
}

fn spawn_await(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn + await one task");
    for (name, runtime) in runtimes() {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(async { tokio::spawn(async { 1u32 }).await.unwrap() }))
        });
    }
    // smol's global executor runs its tasks on a thread of its own, like tokio's multi-thread
    // runtime; a `LocalExecutor` runs them on the thread that drives it, like current-thread.
    group.bench_function("smol, global executor", |b| {
        b.iter(|| smol::block_on(smol::spawn(async { 1u32 })))
    });
    let local = smol::LocalExecutor::new();
    group.bench_function("smol, LocalExecutor", |b| {
        b.iter(|| smol::block_on(local.run(async { local.spawn(async { 1u32 }).await })))
    });
    group.finish();
}

fn oneshot_round_trip(c: &mut Criterion) {
    let runtime = Builder::new_current_thread().build().unwrap();
    // A long-lived task answers each question on the `oneshot` that comes with it, so the
    // bench measures the round trip, not a spawn.
    let (questions, mut asked) =
        tokio::sync::mpsc::unbounded_channel::<(u32, tokio::sync::oneshot::Sender<u32>)>();
    runtime.spawn(async move {
        while let Some((question, reply)) = asked.recv().await {
            let _ = reply.send(question + 1);
        }
    });
    c.bench_function("oneshot round trip (current-thread)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let (reply, answer) = tokio::sync::oneshot::channel();
                questions.send((41, reply)).unwrap();
                answer.await.unwrap()
            })
        })
    });
}

fn many_timers(c: &mut Criterion) {
    let runtime = Builder::new_current_thread().enable_time().build().unwrap();
    let mut group = c.benchmark_group("10,000 timers of 1 ms, at once");
    group.sample_size(20);
    group.bench_function("current-thread", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let timers: Vec<_> = (0..10_000)
                    .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_millis(1))))
                    .collect();
                for timer in timers {
                    timer.await.unwrap();
                }
            })
        })
    });
    let local = smol::LocalExecutor::new();
    group.bench_function("smol, LocalExecutor", |b| {
        b.iter(|| {
            smol::block_on(local.run(async {
                let timers: Vec<_> = (0..10_000)
                    .map(|_| local.spawn(smol::Timer::after(Duration::from_millis(1))))
                    .collect();
                for timer in timers {
                    timer.await;
                }
            }))
        })
    });
    group.finish();
}

criterion_group!(benches, spawn_await, oneshot_round_trip, many_timers);
criterion_main!(benches);
