//! Beyond one machine: one program that runs as worker threads, as processes, or as processes
//! on several hosts, with the command line choosing which — timely dataflow, a distributed
//! engine (the one under differential dataflow and Materialize).
//!
//! Each worker builds the same small dataflow: it takes its share of the numbers below
//! `--limit` by its index, counts the primes in it, and sends its count to worker 0 through
//! timely's `exchange`; worker 0 adds them up. Every worker waits on a probe, timely's
//! progress tracking, until no more data can come. The same code runs three ways: one worker
//! in one process; one process with a worker thread per core; two processes on this machine
//! over TCP (started by the binary itself). Connecting and computing are timed apart:
//! connecting is a real cost of a distributed engine. Then come the commands for two machines.
//!
//! Mirrors: nothing in the Python original; the question after its `Pool` (Dask, Ray).
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin dataflow
//! cargo run -p multi-processing --bin dataflow -- --processes 3 --workers 1
//! cargo run -p multi-processing --bin dataflow -- --hostfile hosts.txt --process-index 0
//! ```
//!
//! An excerpt, the table (times vary; the second of connecting is timely's; on 2 cores):
//!
//! ```text
//! configuration                   processes  workers  connecting  computing  speedup  primes
//! one worker                              1        1      184 µs     2.09 s    1.00×  664,579
//! worker threads, one process             1        2      290 µs     1.11 s    1.88×  664,579
//! processes on this machine, TCP          2        2      1.00 s     1.01 s    2.06×  664,579
//! ```

use std::cell::Cell;
use std::rc::Rc;

use anyhow::Result;
use clap::Parser;
use multi_processing::cluster::{self, execute_timed};
use multi_processing::reports::{Dataflow, dataflow_one_process};
use multi_processing::{ChildRole, exit_with_parent};
use shared::cli::Common;
use shared::limits::cores;
use shared::primes::{count_primes, split_balanced};
use shared::report::{MainResult, ok_if_stdout_closed};
use timely::dataflow::operators::vec::{Map, ToStream};
use timely::dataflow::operators::{Exchange, Inspect, Probe};

fn main() -> MainResult {
    let args = Args::parse();
    if args.child.is(cluster::ROLE) {
        exit_with_parent(); // A process that `run_on_localhost` started: it ends with us.
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(match args.cluster.addresses() {
        Some(addresses) => be_one_process(&args, addresses.len()),
        None => run(&args),
    })
}

/// The dataflow each worker builds and runs: its share of the numbers, counted where it is,
/// every count sent to worker 0, which adds them up. Returns the total, on worker 0.
fn count_primes_dataflow(worker: &mut timely::worker::Worker, limit: u64) -> Option<u64> {
    let (index, peers) = (worker.index(), worker.peers());
    // The operators below own what they use (they outlive this call inside the worker), so
    // they share the total with us through an `Rc`; one thread per worker, hence no `Arc`.
    let total = Rc::new(Cell::new(0));
    // `()`: the dataflow's timestamps, for a single round of work with no rounds to tell apart.
    let probe = worker.dataflow::<(), _, _>(|scope| {
        let total = Rc::clone(&total);
        // This worker's range of the equal-cost split: a stream of one record.
        let share = split_balanced(0..limit, peers).swap_remove(index);
        let counts = Some(share).to_stream(scope).map(count_primes);
        let at_worker_0 = counts.exchange(|_| 0);
        // `probe()` gives a handle on the stream's progress, and the stream (unused here).
        at_worker_0.inspect(move |count| total.set(total.get() + count)).probe().0
    });
    // Step the dataflow until the probe says nothing more can come; parked, not spinning,
    // while waiting for the other workers.
    worker.step_or_park_while(None, || !probe.done());
    (index == 0).then(|| total.get())
}

fn run(args: &Args) -> Result<()> {
    let limit = args.limit;
    let mut report = Dataflow::announce(limit)?;
    let count = move |worker: &mut timely::worker::Worker| count_primes_dataflow(worker, limit);
    if args.processes.is_none() {
        // In this process: one worker, then a worker thread per core.
        report.add("one worker", 1, execute_timed(timely::Config::thread(), None, count)?);
        let threads = timely::Config::process(args.workers.unwrap_or_else(cores));
        report.add("worker threads, one process", 1, execute_timed(threads, None, count)?);
    }
    // Processes that find each other over TCP: this binary again, each given the list of
    // their loopback addresses (as `--hostfile` gives it), each in `be_one_process`.
    let processes = args.processes.unwrap_or(2);
    let workers = args.workers.unwrap_or((cores() / processes).max(1)).to_string();
    // `--json`, so that process 0's last line is its row of the table.
    let each = ["--workers", &workers, "--limit", &limit.to_string(), "--json"].map(String::from);
    let last_lines = cluster::run_on_localhost(processes, &each)?;
    report.add_from_process_0("processes on this machine, TCP", &last_lines[0])?;
    report.print(args.common.json)
}

/// Be one of the `processes` of the cluster that `--hostfile` lists: what each host runs.
fn be_one_process(args: &Args, processes: usize) -> Result<()> {
    let workers = args.workers.unwrap_or_else(cores);
    let limit = args.limit;
    let run = args.cluster.run(workers, move |worker| count_primes_dataflow(worker, limit))?;
    dataflow_one_process(limit, processes, run, args.common.json)
}

/// Count primes with timely dataflow: on worker threads, on processes, or on several hosts.
#[derive(Debug, Parser)]
struct Args {
    /// Count the primes below N
    #[arg(long, value_name = "N≤4000000000", default_value = "10000000",
          value_parser = shared::cli::whole::<u64>(1..=4_000_000_000))]
    limit: u64,
    /// Worker threads per process [default: the cores, shared among the processes started
    /// here; with --hostfile, all of them]
    #[arg(long, value_name = "N≤64", value_parser = shared::cli::whole::<usize>(1..=64))]
    workers: Option<usize>,
    /// Run only N processes on this machine, over TCP
    #[arg(long, value_name = "2≤N≤16", value_parser = shared::cli::whole::<usize>(2..=16),
          conflicts_with = "hostfile")]
    processes: Option<usize>,
    #[command(flatten)]
    cluster: cluster::Membership,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same dataflow gives the same count on one worker and on three.
    #[test]
    fn the_count_is_the_same_on_any_number_of_workers() {
        for config in [timely::Config::thread(), timely::Config::process(3)] {
            let count =
                |worker: &mut timely::worker::Worker| count_primes_dataflow(worker, 100_000);
            let run = execute_timed(config, None, count).unwrap();
            assert_eq!(run.output, Some(9_592));
        }
    }
}
