//! Workloads and reporting shared by every example of *Parallel Programming in Rust*.
//!
//! The concepts themselves (threads, tasks, processes) live in full in each example binary;
//! this crate holds only what the examples have in common, so they can be compared:
//!
//! - [`primes`]: the CPU-bound workload (counting primes by trial division) and a balanced split;
//! - [`waits`]: simulated I/O waits, scaled by one global `--time-scale` factor;
//! - [`timeline`]: spans from threads, tasks and processes on one clock, drawn as text or SVG;
//! - [`report`]: durations, tables, and whether the build is optimised;
//! - [`cli`]: the flags every binary shares (`--time-scale`, `--json`) and value checks.

pub mod cli;
pub mod primes;
pub mod report;
pub mod timeline;
pub mod waits;
