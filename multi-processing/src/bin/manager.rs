//! A server process owns the data; client processes change it only by asking, in messages.
//!
//! The server holds a `Vec` of records. Two client processes insert records into it and list
//! them, each by sending a request that carries its own reply sender: the server answers
//! through it, so replies cannot go to the wrong client. No client touches the `Vec`, so no
//! lock is needed — the server handles one request at a time. The server stops when every
//! client has hung up: its `recv` fails once the last request sender is gone. (The parent
//! hands the senders out and keeps none, or the server would wait for it forever.)
//!
//! This is what Python's `multiprocessing.Manager` does behind its proxies: a list that
//! looks shared lives in a server process, and every `append` is a request to it.
//!
//! Mirrors: `sharedResource.py` (a `Manager` list changed from several processes) of the
//! Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin manager
//! cargo run -p multi-processing --bin manager -- --records 5 --wait 0.01
//! ```
//!
//! Expected output (pids vary):
//!
//! ```text
//! A server process (pid 5120) owns a list of records;
//! clients a and b insert and list them by request.
//! ```

use std::fmt;
use std::io::Write;

use anyhow::{Context, Result};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multi_processing::reports::ManagerRan;
use multi_processing::{ChildRole, Worker, connect_to_parent, exit_with_parent, quiet_if_hung_up};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed, out, plural};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    if let Some(role) = args.child.role_in(&["server", CLIENTS[0], CLIENTS[1]]) {
        // Its flags first: a missing one is a usage error, whatever the state of the lifeline.
        let (connect, clock) = (args.child.connect(), args.child.clock());
        exit_with_parent();
        return Ok(quiet_if_hung_up(run_worker(role, connect, clock))?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

/// The parent: starts the server, then the clients, each given the server's request sender;
/// collects what each client listed, then the server's report; keeps no sender itself.
fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let timeline = Timeline::new();
    let clock = [format!("--clock={}", timeline.origin_token())];
    let (server, ServerEnds { requests, report: server_report }) =
        Worker::start_connected("server", &clock, |_| {}).context("starting the server")?;
    writeln!(out, "A server process (pid {}) owns a list of records;", server.id())?;
    writeln!(out, "clients {} insert and list them by request.\n", CLIENTS.join(" and "))?;
    let mut clients = Vec::new();
    for name in CLIENTS {
        let (client, setup) = Worker::start_connected::<IpcSender<Setup>>(name, &clock, |_| {})
            .with_context(|| format!("starting client {name}"))?;
        let (listing, listed) = ipc::channel()?;
        let wait = args.common.time_scale.secs(args.wait);
        setup.send(Setup { server: requests.clone(), wait, records: args.records, listing })?;
        clients.push((name, client, listed));
    }
    drop(requests); // Only the clients hold request senders now.

    let mut listed_by_client = Vec::new();
    for (name, client, listed) in clients {
        let list = listed.recv().with_context(|| format!("client {name} ended without a list"))?;
        client.finish(&format!("client {name}"))?;
        listed_by_client.push((name, list));
    }
    let report = server_report.recv().context("the server ended without a report")?;
    server.finish("the server")?;

    let all_kept = all_kept(args.records, &report.records, &listed_by_client);
    let ServerReport { records: server_records, log: server_log } = report;
    let ran = ManagerRan { server_log, server_records, listed_by_client, all_kept };
    Ok(ran.report(args.common.json)?)
}

/// One record of the server's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    client: String,
    n: u32,
}

/// What a client can ask; each request brings the sender for its own reply.
#[derive(Serialize, Deserialize)]
enum Request {
    Insert { record: Record, reply: IpcSender<usize> },
    List { client: String, reply: IpcSender<Vec<Record>> },
}

/// The clients, each a process named after its role.
const CLIENTS: [&str; 2] = ["a", "b"];

/// What the parent sends a client once it has connected.
#[derive(Serialize, Deserialize)]
struct Setup {
    server: IpcSender<Request>,
    wait: std::time::Duration,
    records: u32,
    /// Where the client sends its listing, made after its last insert.
    listing: IpcSender<Vec<Record>>,
}

/// What the server reports when its last client has gone: the list, and a log of requests.
#[derive(Debug, Serialize, Deserialize)]
struct ServerReport {
    records: Vec<Record>,
    log: Vec<(std::time::Duration, String)>,
}

/// The server: answer requests, one at a time, until no client is left.
fn serve(clock: &Timeline, requests: &IpcReceiver<Request>) -> ServerReport {
    let (mut records, mut log) = (Vec::new(), Vec::new());
    let mut note = |what: String| log.push((clock.now(), what));
    // `recv` fails when every sender is gone: all clients have hung up.
    while let Ok(request) = requests.recv() {
        match request {
            Request::Insert { record, reply } => {
                note(format!("insert {record}"));
                records.push(record);
                let _ = reply.send(records.len()); // A client that left cannot be answered.
            }
            Request::List { client, reply } => {
                note(format!("list for {client} ({})", plural(records.len() as u64, "record")));
                let _ = reply.send(records.clone());
            }
        }
    }
    ServerReport { records, log }
}

/// A client: insert its records, then list them all, and report what it saw.
fn run_client(name: &str, setup: Setup) -> Result<()> {
    for n in 1..=setup.records {
        std::thread::sleep(setup.wait); // Stand-in for the work between requests.
        let (reply, answer) = ipc::channel()?;
        setup.server.send(Request::Insert { record: Record { client: name.into(), n }, reply })?;
        answer.recv().context("the server did not answer")?;
    }
    let (reply, answer) = ipc::channel()?;
    setup.server.send(Request::List { client: name.into(), reply })?;
    setup.listing.send(answer.recv().context("the server did not answer")?)?;
    Ok(()) // Our request sender goes with us: one client fewer for the server.
}

/// A record as the report shows it: `a-1`.
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.client, self.n)
    }
}

/// Whether every record each client inserted is on the server's list, and in the client's
/// own listing (which it asked for after its last insert), and the server holds no other.
fn all_kept(records: u32, on_server: &[Record], listed_by_client: &[(&str, Vec<Record>)]) -> bool {
    let kept = listed_by_client.iter().all(|(name, listed)| {
        (1..=records).all(|n| {
            let record = Record { client: name.to_string(), n };
            on_server.contains(&record) && listed.contains(&record)
        })
    });
    kept && on_server.len() == listed_by_client.len() * records as usize
}

/// The server's channel ends, as the parent holds them: where to send requests, and where
/// the server's report comes from.
#[derive(Serialize, Deserialize)]
struct ServerEnds {
    requests: IpcSender<Request>,
    report: IpcReceiver<ServerReport>,
}

/// A child: the server, or a client named after its role. `connect` names the parent's
/// one-shot server, through which the child hands over its channel ends.
fn run_worker(role: &str, connect: &str, clock: &str) -> Result<()> {
    let clock = Timeline::aligned_to(clock)?;
    if role == "server" {
        let (requests, incoming) = ipc::channel::<Request>()?;
        let (report_sender, report) = ipc::channel::<ServerReport>()?;
        connect_to_parent(connect, ServerEnds { requests, report })?;
        report_sender.send(serve(&clock, &incoming))?;
    } else {
        let (setup_sender, setup) = ipc::channel::<Setup>()?;
        connect_to_parent(connect, setup_sender)?;
        run_client(role, setup.recv()?)?;
    }
    Ok(())
}

/// A server process owns a list; client processes insert and list through it.
#[derive(Debug, Parser)]
struct Args {
    /// Records each client inserts
    #[arg(long, value_name = "N≤1000", default_value = "3",
          value_parser = shared::cli::whole::<u32>(1..=1000))]
    records: u32,
    /// Simulated seconds each client waits before each request
    #[arg(long, value_name = "SECONDS", default_value_t = 0.05, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_kept_needs_every_record_on_the_server_and_in_its_clients_listing() {
        let record = |client: &str, n| Record { client: client.into(), n };
        let on_server = [record("a", 1), record("b", 1), record("a", 2), record("b", 2)];
        let listed = vec![("a", on_server[..3].to_vec()), ("b", on_server.to_vec())];
        assert!(all_kept(2, &on_server, &listed));
        // The server lost b-2.
        assert!(!all_kept(2, &on_server[..3], &listed));
        // Client a's listing lacks its own a-2.
        let a_missed_its_own = vec![("a", on_server[..2].to_vec()), ("b", on_server.to_vec())];
        assert!(!all_kept(2, &on_server, &a_missed_its_own));
        // The server holds a record nobody inserted.
        let extra = [&on_server[..], &[record("c", 1)]].concat();
        assert!(!all_kept(2, &extra, &listed));
    }
}
