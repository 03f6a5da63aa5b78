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
//! A server process (pid 5120) owns a list of records; clients a and b insert and list them by request.
//! ```

use std::io::Write;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multi_processing::{Worker, connect_to_parent, exit_with_parent, quiet_if_hung_up};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{ok_if_stdout_closed, out, print_json};
use shared::timeline::Timeline;

fn main() -> Result<()> {
    let args = Args::parse();
    if let (Some(role), Some(name), Some(clock)) = (&args.worker, &args.connect, &args.clock) {
        exit_with_parent();
        return quiet_if_hung_up(run_worker(role, name, clock));
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let timeline = Timeline::new();
    let clock = [format!("--clock={}", timeline.origin_token())];
    let (server, (requests, server_report)) = Worker::start_connected::<(
        IpcSender<Request>,
        IpcReceiver<ServerReport>,
    )>("server", &clock, |_| {})
    .context("starting the server")?;
    writeln!(
        out,
        "A server process (pid {}) owns a list of records; clients a and b insert and list them by request.\n",
        server.id()
    )?;
    let mut clients = Vec::new();
    for name in ["a", "b"] {
        let (client, setup) = Worker::start_connected::<IpcSender<Setup>>(name, &clock, |_| {})
            .with_context(|| format!("starting client {name}"))?;
        let (report, listed) = ipc::channel()?;
        let wait = args.common.time_scale.secs(args.wait);
        setup.send(Setup { server: requests.clone(), wait, records: args.records, report })?;
        clients.push((name, client, listed));
    }
    drop(requests); // Only the clients hold request senders now.

    let mut listed_by_client = Vec::new();
    for (name, client, listed) in clients {
        let listed =
            listed.recv().with_context(|| format!("client {name} ended without a list"))?;
        let status = client.wait()?;
        ensure!(status.success(), "client {name} failed ({status})");
        listed_by_client.push(listed);
    }
    let report = server_report.recv().context("the server ended without a report")?;
    let status = server.wait()?;
    ensure!(status.success(), "the server failed ({status})");

    writeln!(out, "The server's log, which it sent back once its last client had gone:")?;
    for (at, what) in &report.log {
        writeln!(out, "{at:6.2} s  server: {what}")?;
    }
    writeln!(out)?;
    for (name, listed) in ["a", "b"].iter().zip(&listed_by_client) {
        let names: Vec<String> = listed.iter().map(|r| format!("{}-{}", r.client, r.n)).collect();
        writeln!(out, "Client {name} listed {}: {}", count(listed.len()), names.join(" "))?;
    }
    // Every record each client inserted is on the server's list, and in the client's own
    // listing, which it asked for after its last insert.
    let all_kept = ["a", "b"].iter().zip(&listed_by_client).all(|(name, listed)| {
        (1..=args.records).all(|n| {
            let record = Record { client: name.to_string(), n };
            report.records.contains(&record) && listed.contains(&record)
        })
    }) && report.records.len() == 2 * args.records as usize;
    writeln!(
        out,
        "\n{}",
        if all_kept {
            format!(
                "The server kept all {} records, and stopped when both clients had hung up. \
                 No client touched the list: each asked, and the server answered one request at a time.",
                report.records.len()
            )
        } else {
            "Unexpected: a record is missing.".to_string()
        }
    )?;
    if args.common.json {
        print_json(&Summary { server_records: report.records, listed_by_client, all_kept })?;
    }
    Ok(())
}

/// A server process owns a list; client processes insert and list through it.
#[derive(Debug, Parser)]
struct Args {
    /// Records each client inserts
    #[arg(long, value_name = "N≤1000", default_value = "3",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    records: u32,
    /// Simulated seconds each client waits before each request
    #[arg(long, value_name = "SECONDS", default_value_t = 0.05, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    /// Internal: run as the server, or as the client with this name
    #[arg(long, hide = true, requires_all = ["connect", "clock"])]
    worker: Option<String>,
    /// Internal: the parent's one-shot server
    #[arg(long, hide = true)]
    connect: Option<String>,
    /// Internal: the parent's timeline origin
    #[arg(long, hide = true)]
    clock: Option<String>,
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

/// What the parent sends a client once it has connected.
#[derive(Serialize, Deserialize)]
struct Setup {
    server: IpcSender<Request>,
    wait: std::time::Duration,
    records: u32,
    report: IpcSender<Vec<Record>>,
}

/// What the server reports when its last client has gone: the list, and a log of requests.
#[derive(Debug, Serialize, Deserialize)]
struct ServerReport {
    records: Vec<Record>,
    log: Vec<(f64, String)>,
}

/// "1 record", "5 records".
fn count(records: usize) -> String {
    if records == 1 { "1 record".into() } else { format!("{records} records") }
}

/// The server: answer requests, one at a time, until no client is left.
fn serve(clock: &Timeline, requests: &IpcReceiver<Request>) -> ServerReport {
    let (mut records, mut log) = (Vec::new(), Vec::new());
    let mut note = |what: String| log.push((clock.now().as_secs_f64(), what));
    // `recv` fails when every sender is gone: all clients have hung up.
    while let Ok(request) = requests.recv() {
        match request {
            Request::Insert { record, reply } => {
                note(format!("insert {}-{}", record.client, record.n));
                records.push(record);
                let _ = reply.send(records.len()); // A client that left cannot be answered.
            }
            Request::List { client, reply } => {
                note(format!("list for {client} ({})", count(records.len())));
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
    setup.report.send(answer.recv().context("the server did not answer")?)?;
    Ok(()) // Our request sender goes with us: one client fewer for the server.
}

fn run_worker(role: &str, name: &str, clock: &str) -> Result<()> {
    let clock = Timeline::aligned_to(clock)?;
    if role == "server" {
        let (requests_sender, requests) = ipc::channel::<Request>()?;
        let (report, report_receiver) = ipc::channel::<ServerReport>()?;
        connect_to_parent(name, (requests_sender, report_receiver))?;
        report.send(serve(&clock, &requests))?;
    } else {
        let (setup_sender, setup) = ipc::channel::<Setup>()?;
        connect_to_parent(name, setup_sender)?;
        run_client(role, setup.recv()?)?;
    }
    Ok(())
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    server_records: Vec<Record>,
    listed_by_client: Vec<Vec<Record>>,
    all_kept: bool,
}
