//! Running one timely dataflow program as several processes: the plumbing around
//! `timely::execute` that the `dataflow` binary needs and timely leaves to its user.
//!
//! Timely connects the processes of a cluster itself, over TCP: each is given the same list
//! of addresses (a *hostfile*, one `HOST:PORT` per line) and its own index in it; process `i`
//! listens on line `i` and connects to every process before it. What timely does not do:
//!
//! - **Give up.** A peer that never comes is waited for for ever (timely retries once a
//!   second). [`ConnectWatch`] ends the process with one line after a deadline instead.
//! - **Survive a lost peer.** When a connection breaks, timely's network threads panic
//!   ("timely communication error: reading data: socket closed"), the worker threads panic in
//!   turn, and the process aborts with a panic in a destructor (exit code 134), after pages of
//!   messages. [`contain_lost_peers`] turns the first such panic into one line naming the
//!   process that was lost (timely names its threads `timely:recv-N` and `timely:send-N`
//!   after the peer `N` they talk to) and ends the process with exit code 1.
//! - **Start the processes.** [`run_on_localhost`] starts this binary again, once per process,
//!   each with its index, on free ports of this machine; if one ends badly, it stops the rest
//!   and says which one it was.

use std::io::Write;
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use shared::report::human_duration;
use timely::worker::Worker as TimelyWorker;

use crate::{Worker, how_it_ended};

/// The role in which [`run_on_localhost`] starts its processes: `--worker cluster-process`.
pub const ROLE: &str = "cluster-process";

/// The exit code of a process of a cluster that lost a peer, or never reached one.
pub const CLUSTER_FAILED: i32 = 1;

/// The addresses of a cluster's processes, read from a hostfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostfile {
    pub addresses: Vec<String>,
}

/// Reads a hostfile: one `HOST:PORT` per line; blank lines and lines starting with `#` are
/// skipped. An error names the file and the line. (A clap `value_parser`, so that a malformed
/// hostfile is a usage error, exit code 2.)
pub fn read_hostfile(path: &str) -> Result<Hostfile, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read {path}: {err}"))?;
    let mut addresses = Vec::new();
    for (number, line) in text.lines().enumerate().map(|(i, line)| (i + 1, line.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let port = line.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(1..))) if !host.is_empty() => addresses.push(line.to_string()),
            _ => return Err(format!("{path}, line {number}: {line:?} is not HOST:PORT")),
        }
    }
    match addresses.len() {
        0 => Err(format!("{path} names no HOST:PORT")),
        _ => Ok(Hostfile { addresses }),
    }
}

/// `n` addresses on this machine (`127.0.0.1:PORT`) whose ports were free a moment ago: the
/// OS picks each port, for listeners that are closed again before timely binds them.
pub fn free_local_addresses(n: usize) -> std::io::Result<Vec<String>> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.to_string())).collect()
}

/// The timely configuration of process `index` of the cluster at `addresses`, with `workers`
/// worker threads.
fn config(addresses: &[String], index: usize, workers: usize) -> timely::Config {
    let communication = timely::CommunicationConfig::Cluster {
        threads: workers,
        process: index,
        addresses: addresses.to_vec(),
        report: false,
        zerocopy: false,
    };
    timely::Config { communication, worker: timely::WorkerConfig::default() }
}

/// Makes a lost peer end this process with one line on stderr ("error: lost process 1 of the
/// cluster, at 127.0.0.1:2102: …") and exit code [`CLUSTER_FAILED`], instead of timely's
/// cascade of panics and an abort: the first panic on a thread that talks to a peer says it,
/// and ends the process before the rest of the cascade. Other panics are reported as usual.
pub fn contain_lost_peers(addresses: Vec<String>) {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    let usual = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or_default();
        let peer = name.strip_prefix("timely:recv-").or_else(|| name.strip_prefix("timely:send-"));
        let peer = peer.and_then(|n| n.parse::<usize>().ok());
        if peer.is_none() && !REPORTED.load(Ordering::SeqCst) {
            return usual(info);
        }
        // The first panic of the cascade says it; the others, and the abort, are cut short.
        if !REPORTED.swap(true, Ordering::SeqCst) {
            let what = info.payload().downcast_ref::<String>().map(String::as_str);
            let what = what.or_else(|| info.payload().downcast_ref::<&str>().copied());
            let what = what.unwrap_or("its connection broke");
            let whom = match peer {
                Some(n) => format!("process {n} of the cluster, at {}", addresses[n]),
                None => "a process of the cluster".to_string(),
            };
            eprintln!(
                "error: lost {whom} ({what}); a cluster cannot go on without one of its processes: start them all again"
            );
        }
        std::process::exit(CLUSTER_FAILED);
    }));
}

/// Ends this process, with one line and [`CLUSTER_FAILED`], unless [`connected`] is called
/// within `deadline`: timely would wait for an unreachable peer for ever.
///
/// [`connected`]: ConnectWatch::connected
pub struct ConnectWatch(mpsc::Sender<()>);

impl ConnectWatch {
    /// Starts the deadline for process `index` of the cluster at `addresses`.
    pub fn start(deadline: Duration, addresses: &[String], index: usize) -> ConnectWatch {
        let (connected, wait) = mpsc::channel();
        let others: Vec<&str> = (addresses.iter().enumerate())
            .filter_map(|(i, address)| (i != index).then_some(address.as_str()))
            .collect();
        let others = others.join(", ");
        let (me, seconds) = (addresses[index].clone(), deadline.as_secs_f64());
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(deadline) {
                eprintln!(
                    "error: process {index} (listening on {me}) did not reach the rest of the \
                     cluster ({others}) within {seconds} s: is each one started, and reachable \
                     from here?"
                );
                std::process::exit(CLUSTER_FAILED);
            }
        });
        ConnectWatch(connected)
    }

    /// The cluster is connected: the deadline is off.
    pub fn connected(&self) {
        let _ = self.0.send(()); // Ignored: only fails once the deadline has passed anyway.
    }
}

/// One run of a dataflow, as worker 0 of this process saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed<T> {
    /// From the call until the workers started: connecting to the other processes, if any.
    pub connecting: Duration,
    /// From then until worker 0's `work` returned.
    pub computing: Duration,
    /// The workers of the whole run, over every process.
    pub workers: usize,
    /// What worker 0's `work` returned.
    pub output: T,
}

/// `timely::execute`: runs `work` on every worker that `config` asks for, and returns what
/// worker 0 of this process returned, timed. A `watch` is told when the workers start.
pub fn execute_timed<T, F>(
    config: timely::Config,
    watch: Option<ConnectWatch>,
    work: F,
) -> Result<Timed<T>>
where
    T: Send + 'static,
    F: Fn(&mut TimelyWorker) -> T + Send + Sync + 'static,
{
    // Timely panics where the OS refuses a thread: check there is room for its workers, and
    // for a cluster its send and receive thread per peer (and two to connect), first.
    let threads = match &config.communication {
        timely::CommunicationConfig::Thread => 1,
        timely::CommunicationConfig::Process(n) | timely::CommunicationConfig::ProcessBinary(n) => {
            *n
        }
        timely::CommunicationConfig::Cluster { threads, addresses, .. } => {
            threads + 2 * addresses.len()
        }
    };
    shared::limits::room_for_threads(threads)?;
    let start = std::time::Instant::now();
    let guards = timely::execute(config, move |worker| {
        let connecting = start.elapsed();
        watch.iter().for_each(ConnectWatch::connected);
        let computing = std::time::Instant::now();
        let output = work(worker);
        Timed { connecting, computing: computing.elapsed(), workers: worker.peers(), output }
    })
    .map_err(anyhow::Error::msg)?;
    let first = guards.join().into_iter().next().context("no worker ran")?;
    first.map_err(anyhow::Error::msg)
}

/// The flags that make a process one process of a cluster — what each host runs — for a
/// binary to flatten into its `Args` (`#[command(flatten)] cluster: Membership`):
/// `--hostfile FILE --process-index I`, and the hidden `--peers` that [`run_on_localhost`]
/// passes instead of a file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Membership {
    /// Be one process of a cluster: the file lists every process's HOST:PORT, one per line
    #[arg(long, value_name = "FILE", value_parser = read_hostfile, requires = "process_index",
          group = "addresses")]
    hostfile: Option<Hostfile>,
    /// With --hostfile: which line of it this process is, from 0
    #[arg(long, value_name = "I", value_parser = shared::cli::whole::<usize>(0..=1023),
          requires = "addresses")]
    process_index: Option<usize>,
    /// With --hostfile: give up if the other processes are not all reached in S seconds
    #[arg(long, value_name = "S≤3600", default_value = "60",
          value_parser = shared::cli::whole::<u64>(1..=3600))]
    connect_timeout: u64,
    /// Internal: the addresses of the processes that `run_on_localhost` started
    #[arg(
        long,
        hide = true,
        value_delimiter = ',',
        requires = "process_index",
        group = "addresses"
    )]
    peers: Option<Vec<String>>,
}

impl Membership {
    /// Every process's address, if this process is one of a cluster.
    pub fn addresses(&self) -> Option<&[String]> {
        let hostfile = self.hostfile.as_ref().map(|hostfile| &hostfile.addresses[..]);
        hostfile.or(self.peers.as_deref())
    }

    /// Runs `work` on `workers` threads as this process of the cluster, and says how long it
    /// took to connect and to compute. A lost peer or one not reached within
    /// `--connect-timeout` ends the process with one line ([`contain_lost_peers`],
    /// [`ConnectWatch`]); an error (a port in use) names the address. An index beyond the
    /// hostfile is a usage error.
    pub fn run<T, F>(&self, workers: usize, work: F) -> Result<Timed<T>>
    where
        T: Send + 'static,
        F: Fn(&mut TimelyWorker) -> T + Send + Sync + 'static,
    {
        let addresses = self.addresses().context("not a process of a cluster")?;
        let index = self.process_index.context("no --process-index")?;
        if index >= addresses.len() {
            let last = addresses.len() - 1;
            let message =
                format!("invalid value '{index}' for '--process-index': from 0 to {last}");
            crate::usage_error(&message);
        }
        contain_lost_peers(addresses.to_vec());
        let deadline = Duration::from_secs(self.connect_timeout);
        let watch = ConnectWatch::start(deadline, addresses, index);
        let (config, at) = (config(addresses, index, workers), &addresses[index]);
        let run = execute_timed(config, Some(watch), work)
            .with_context(|| format!("process {index}, at {at}"))?;
        let (connecting, computing) =
            (human_duration(run.connecting), human_duration(run.computing));
        let processes = addresses.len();
        let line = format!(
            "Process {index} of {processes} ({at}): connected in {connecting}, computed in {computing}."
        );
        writeln!(shared::report::out(), "{line}")?;
        Ok(run)
    }
}

/// Starts `processes` copies of this binary, in the role [`ROLE`], on free ports of this
/// machine, each with its [`Membership`] flags and `args`; returns the last line each printed.
/// One that ends badly stops the others (their lifelines are cut, after half a second in
/// which they may end by themselves), and is the error, named with its index and pid.
pub fn run_on_localhost(processes: usize, args: &[String]) -> Result<Vec<String>> {
    let addresses = free_local_addresses(processes).context("finding free ports")?;
    let (ended, endings) = mpsc::channel();
    let mut lifelines = Vec::new();
    for index in 0..processes {
        let peers =
            ["--peers".into(), addresses.join(","), "--process-index".into(), index.to_string()];
        let mut worker = Worker::start(ROLE, &[&peers[..], args].concat(), |command| {
            command.stdout(Stdio::piped());
        })
        .context("starting a process of the cluster")?;
        lifelines.push(worker.take_lifeline());
        let ended = ended.clone();
        std::thread::spawn(move || {
            let stdout = worker.child().stdout.take().map(std::io::read_to_string);
            let (pid, status) = (worker.id(), worker.wait());
            let _ = ended.send((index, pid, status, stdout)); // Ignored: the parent left.
        });
    }
    drop(ended);
    let (mut last_lines, mut failed) = (vec![String::new(); processes], Vec::new());
    loop {
        // After a process ends badly, the others get a moment: one that lost it as a peer
        // ends by itself, and may do so before the first one's ending reaches us.
        let next = match failed.is_empty() {
            true => endings.recv().ok(),
            false => endings.recv_timeout(Duration::from_millis(500)).ok(),
        };
        let Some((index, pid, status, stdout)) = next else { break };
        let status = status?;
        if !status.success() {
            failed.push((index, pid, status));
            continue;
        }
        let stdout = stdout.context("no stdout")??;
        last_lines[index] = stdout.lines().last().unwrap_or_default().to_string();
    }
    // The cause is the one that did not end by reporting a lost peer, if there is one.
    let cause = failed.iter().find(|(.., status)| status.code() != Some(CLUSTER_FAILED));
    if let Some((index, pid, status)) = cause.or(failed.first()) {
        drop(lifelines); // Any still running end at once (`exit_with_parent`).
        let how = how_it_ended(*status);
        bail!("process {index} of the cluster (pid {pid}) {how}; the cluster has stopped");
    }
    Ok(last_lines)
}
