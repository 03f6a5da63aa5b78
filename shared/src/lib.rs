//! Workloads and reporting shared by every example of *Parallel Programming in Rust*.
//!
//! The concepts themselves (threads, tasks, processes) live in full in each example binary;
//! this crate holds only what the examples have in common, so they can be compared:
//!
//! - [`primes`]: the CPU-bound workload (counting primes by trial division) and a balanced split;
//! - [`waits`]: simulated I/O waits, scaled by the `--time-scale` factor ([`waits::TimeScale`]);
//! - [`timeline`]: spans from threads, tasks and processes on one clock, drawn as text or SVG;
//! - [`report`]: durations, tables, verdicts that follow the figures, whether the build is
//!   optimised, and [`report::out`], a stdout that ends the program quietly when closed;
//! - [`cli`]: the flags every binary shares (`--time-scale`, `--json`) and value checks;
//! - [`limits`]: checks of the OS's limits (threads, address space, files) before starting
//!   threads or processes, so that a refusal is an error that says which limit to raise.
//!
//! To use an example outside this workspace, copy this whole folder next to it as it is: its
//! `Cargo.toml` inherits nothing from the workspace. Each chapter README gives the recipe.

pub mod cli;
pub mod limits;
pub mod primes;
pub mod report;
pub mod timeline;
pub mod waits;
