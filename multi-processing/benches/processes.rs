//! What processes cost: starting one and waiting for it; a small message there and back over
//! an OS pipe and over ipc-channel; 1 MiB over ipc-channel as bytes and as shared memory.
//!
//! The bench starts itself again as the other process, as the chapter's binaries do: with
//! `--worker ROLE` it is a child and never reaches criterion. When parent and child sit on
//! different cores, each wake-up adds tens of microseconds, which can swamp the differences
//! between the channels: compare ratios from one run, not figures across machines.
//!
//! Run with: `cargo bench -p multi-processing --bench processes`

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use ipc_channel::ipc::{self, IpcBytesSender, IpcReceiver, IpcSender, IpcSharedMemory};
use multi_processing::{Worker, connect_to_parent, exit_with_parent};

/// What the ipc child gets: a small number to echo, or a shared region to acknowledge.
#[derive(serde::Serialize, serde::Deserialize)]
enum Message {
    Small(u64),
    Shared(IpcSharedMemory),
}

/// The ipc child's channel ends, sent to the parent in its hello.
type Ends = (IpcSender<Message>, IpcBytesSender, IpcReceiver<u64>);

/// The child roles: exit at once; echo lines on stdin; echo over ipc-channel.
fn child(role: &str, connect: Option<String>) {
    match role {
        "exit" => {}
        "pipe" => {
            let mut line = String::new();
            let (mut stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
            while stdin.read_line(&mut line).unwrap_or(0) > 0 {
                stdout.write_all(line.as_bytes()).and_then(|()| stdout.flush()).unwrap();
                line.clear();
            }
        }
        _ => {
            exit_with_parent();
            let (messages_sender, messages) = ipc::channel::<Message>().unwrap();
            let (bytes_sender, bytes) = ipc::bytes_channel().unwrap();
            let (replies, replies_receiver) = ipc::channel::<u64>().unwrap();
            let ends: Ends = (messages_sender, bytes_sender, replies_receiver);
            connect_to_parent(&connect.expect("--connect"), ends).unwrap();
            // Bytes on their own thread, so that neither receiver waits behind the other.
            let byte_replies = replies.clone();
            std::thread::spawn(move || {
                while let Ok(data) = bytes.recv() {
                    byte_replies.send(data.len() as u64).unwrap();
                }
            });
            while let Ok(message) = messages.recv() {
                let reply = match message {
                    Message::Small(n) => n,
                    Message::Shared(region) => region.len() as u64,
                };
                replies.send(reply).unwrap();
            }
        }
    }
}

fn spawn_wait(c: &mut Criterion) {
    let exe = std::env::current_exe().unwrap();
    c.bench_function("process spawn + wait (this binary, exits at once)", |b| {
        b.iter(|| Command::new(&exe).args(["--worker", "exit"]).status().unwrap())
    });
}

fn round_trips(c: &mut Criterion) {
    let mut group = c.benchmark_group("small message, there and back");
    let mut piped = Command::new(std::env::current_exe().unwrap())
        .args(["--worker", "pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_child = piped.stdin.take().unwrap();
    let mut from_child = BufReader::new(piped.stdout.take().unwrap());
    let mut line = String::new();
    group.bench_function("OS pipe (child's stdin and stdout)", |b| {
        b.iter(|| {
            to_child.write_all(b"12345\n").and_then(|()| to_child.flush()).unwrap();
            line.clear();
            from_child.read_line(&mut line).unwrap();
        })
    });
    drop(to_child); // End of input: the child's loop ends.
    piped.wait().unwrap();

    let (worker, (messages, _, replies)) =
        Worker::start_connected::<Ends>("ipc", &[], |_| {}).unwrap();
    group.bench_function("ipc-channel", |b| {
        b.iter(|| {
            messages.send(Message::Small(12345)).unwrap();
            replies.recv().unwrap()
        })
    });
    group.finish();
    drop(worker); // Killed and reaped.
}

fn one_mebibyte(c: &mut Criterion) {
    let mut group = c.benchmark_group("1 MiB to a child, acknowledged");
    group.throughput(Throughput::Bytes(1 << 20));
    let (worker, (messages, bytes, replies)) =
        Worker::start_connected::<Ends>("ipc", &[], |_| {}).unwrap();
    let data = vec![7u8; 1 << 20];
    group.bench_function("ipc-channel bytes (copied)", |b| {
        b.iter(|| {
            bytes.send(&data).unwrap();
            replies.recv().unwrap()
        })
    });
    group.bench_function("IpcSharedMemory, a new region each time", |b| {
        b.iter(|| {
            messages.send(Message::Shared(IpcSharedMemory::from_bytes(&data))).unwrap();
            replies.recv().unwrap()
        })
    });
    let region = IpcSharedMemory::from_bytes(&data);
    group.bench_function("IpcSharedMemory, one region sent again", |b| {
        b.iter(|| {
            messages.send(Message::Shared(region.clone())).unwrap();
            replies.recv().unwrap()
        })
    });
    group.finish();
    drop(worker);
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--worker") {
        let role = args.next().unwrap_or_default();
        let connect = args.next().and_then(|a| a.strip_prefix("--connect=").map(String::from));
        return child(&role, connect);
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    spawn_wait(&mut c);
    round_trips(&mut c);
    one_mebibyte(&mut c);
    c.final_summary();
}
