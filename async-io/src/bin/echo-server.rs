//! Real I/O on one thread: a TCP echo server and a thousand clients, all in one event loop.
//!
//! The server listens on 127.0.0.1 (a port the OS picks) and runs one task per connection
//! that sends back whatever it reads. Then `--clients` client tasks connect, each sends
//! `--messages` lines and checks that every byte comes back unchanged. Server and clients run
//! as tasks on one current-thread runtime: while a socket has nothing to read, its task waits
//! and the thread serves the others. Nothing leaves the machine, and the program stops by
//! itself when every client is done.
//!
//! Every connection costs two sockets here (the client's and the server's), and many systems
//! allow a process only 1,024 open files. So at most `--concurrency` clients (default 250)
//! are connected at once, the others wait their turn on a semaphore; if the OS still runs out
//! of file descriptors, the program says so rather than panic.
//!
//! Mirrors: nothing in the Python original, which only slept; this is the I/O that async is for.
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin echo-server
//! cargo run -p asyncio --bin echo-server -- --clients 100 --messages 50
//! ```
//!
//! The output ends like this (timings vary):
//!
//! ```text
//! 1,000 clients sent 5 messages each; the server echoed 124,450 bytes, every one of them right.
//! ```

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use asyncio::reports::{EchoServer, Echoed};
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed, out, timed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (clients, messages, concurrency) = (args.clients, args.messages, args.concurrency);
    let plan = EchoServer { clients, messages, concurrency };
    plan.announce()?;
    let (echoed, elapsed) = timed(|| runtime.block_on(echo(clients, messages, concurrency)));
    let Totals { connections, bytes } = echoed?;
    // Each client checked every echo byte for byte (a mismatch fails the run); the report
    // checks the totals too, against every message that was to be sent.
    let sent = bytes_to_send(clients, messages);
    Ok(plan.report(&Echoed { connections, bytes, sent, elapsed }, args.common.json)?)
}

/// Everything: the server, then the clients, at most `concurrency` connected at once.
async fn echo(clients: u32, messages: u32, concurrency: u32) -> Result<Totals> {
    // A listening socket queues connections that are not accepted yet; with `TcpListener::bind`
    // that queue holds 128 here, and connections beyond it are dropped and retried by the
    // client's OS a full second later. Room for every client that may connect at once:
    let socket = TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = socket.listen(concurrency.max(128)).context("listening on 127.0.0.1")?;
    let address = listener.local_addr()?;
    writeln!(out(), "Echo server listening on {address}.")?;
    let connections = Arc::new(AtomicUsize::new(0));
    let mut server = tokio::spawn(serve(listener, connections.clone()));

    let permits = Arc::new(Semaphore::new(concurrency as usize));
    let mut set = JoinSet::new();
    for id in 0..clients {
        let permits = permits.clone();
        set.spawn(async move {
            // Held until the client is done: this caps the sockets open at once.
            let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
            client(address, id, messages).await
        });
    }
    let all_clients = async {
        let mut bytes = 0;
        while let Some(result) = set.join_next().await {
            bytes += result.expect("a client panicked")?;
        }
        anyhow::Ok(bytes)
    };
    // If the server fails (out of file descriptors, say), report its error, not the clients'.
    tokio::select! {
        biased;
        stopped = &mut server => match stopped.expect("the server panicked") {
            Err(err) => Err(err),
            Ok(never) => match never {}, // `Infallible` has no value: this arm cannot run.
        },
        bytes = all_clients => {
            // Every client is done: stop the server. `abort` has the runtime drop its future
            // where it waits (in `accept`), and the listener with it.
            server.abort();
            Ok(Totals { connections: connections.load(Ordering::Relaxed), bytes: bytes? })
        }
    }
}

/// The server: one task per connection, each echoing until the client closes its side.
/// It never returns `Ok`: it ends with an error, or when its task is aborted.
async fn serve(listener: TcpListener, connections: Arc<AtomicUsize>) -> Result<Infallible> {
    loop {
        let (mut socket, _) = listener.accept().await.map_err(explain)?;
        connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let (mut reader, mut writer) = socket.split();
            // Ignored: a client that vanishes only ends its own connection.
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        });
    }
}

/// One client: sends its messages, reads each echo back; returns the bytes that matched.
async fn client(address: SocketAddr, id: u32, messages: u32) -> Result<usize> {
    let mut socket = TcpStream::connect(address).await.map_err(explain)?;
    let mut echoed = 0;
    for n in 0..messages {
        let message = message(id, n);
        socket.write_all(message.as_bytes()).await?;
        let mut echo = vec![0; message.len()];
        socket.read_exact(&mut echo).await.context("the server closed the connection")?;
        if echo != message.as_bytes() {
            bail!("client {id} got {:?} back for {message:?}", String::from_utf8_lossy(&echo));
        }
        echoed += echo.len();
    }
    Ok(echoed)
}

/// What client `id` says in its message `n`.
fn message(id: u32, n: u32) -> String {
    format!("client {id} says hello #{n}\n")
}

/// What `echo` counted: connections the server accepted, bytes the clients got back right.
struct Totals {
    connections: usize,
    bytes: usize,
}

/// The bytes of every message of every client.
fn bytes_to_send(clients: u32, messages: u32) -> usize {
    (0..clients).flat_map(|id| (0..messages).map(move |n| message(id, n).len())).sum()
}

/// Turns "too many open files" into advice; other errors pass unchanged.
fn explain(err: io::Error) -> anyhow::Error {
    // EMFILE (24) on Unix: this process has used up its file descriptors.
    if err.raw_os_error() == Some(24) {
        anyhow::anyhow!(
            "too many open files: lower --concurrency, or raise the limit (`ulimit -n`)"
        )
    } else {
        err.into()
    }
}

/// A TCP echo server and many concurrent clients on loopback, all on one thread.
#[derive(Debug, Parser)]
struct Args {
    /// How many clients connect
    #[arg(long, value_name = "N≤100000", default_value = "1000",
          value_parser = shared::cli::whole::<u32>(1..=100_000))]
    clients: u32,
    /// Messages each client sends
    #[arg(long, value_name = "N≤1000", default_value = "5",
          value_parser = shared::cli::whole::<u32>(1..=1000))]
    messages: u32,
    /// At most this many clients connected at once (two sockets each)
    #[arg(long, value_name = "N≤10000", default_value = "250",
          value_parser = shared::cli::whole::<u32>(1..=10_000))]
    concurrency: u32,
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_client_gets_every_byte_back() {
        let Totals { connections, bytes } = echo(20, 3, 5).await.unwrap();
        assert_eq!(connections, 20);
        assert_eq!(bytes, bytes_to_send(20, 3));
    }
}
