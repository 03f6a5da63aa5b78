//! Starting child processes the one way this chapter does it: the binary runs *itself* again,
//! in a worker role.
//!
//! Rust has no `multiprocessing.Process(target=f)`. Instead a binary starts its own executable
//! with a hidden `--worker ROLE` argument, and its `main` looks at that argument first: with
//! it, the process is a child and does the child's job (the role a Python script's
//! `if __name__ == "__main__":` plays for the parent). On Linux the child is started from
//! `/proc/self/exe`, the very file the parent runs, so parent and child are the same build
//! even if the binary is rebuilt meanwhile, and their messages cannot disagree; elsewhere it
//! is [`std::env::current_exe`], the same path.
//!
//! Three safeguards keep children from outliving their parent:
//!
//! - the parent holds each child in a [`Worker`], which kills and reaps the child if it is
//!   dropped before the child was waited for (an early `?`, a panic);
//! - every child's stdin is a pipe from the parent that the parent never writes to: its
//!   *lifeline*. A child calls [`exit_with_parent`] first thing; a thread then waits on that
//!   pipe, and when the parent is gone — even killed outright, when no destructor runs — the
//!   OS closes the pipe, the read returns, and the child exits. This works on every platform,
//!   without signals or `unsafe`;
//! - on Linux, [`exit_with_parent`] also asks the kernel for a `SIGKILL` when the parent dies.
//!
//! And a child whose channel to the parent breaks because the parent is leaving ends quietly
//! ([`quiet_if_hung_up`]), instead of printing an error nobody asked for.
//!
//! For typed messages both ways, [`Worker::start_connected`] sets up ipc-channel: the parent
//! opens a one-shot server and passes its name to the child, which connects
//! ([`connect_to_parent`]) and sends back its first message — usually the ends of the
//! channels it will use, since channels travel inside messages. The handshake cannot hang: a
//! child that dies before connecting is an error within moments.
//!
//! For memory shared by mapping a file, and for cross-process locks, [`ScratchFile`] makes
//! the file and removes it on every way out the program controls.

// `unsafe` is denied in this crate (Cargo.toml), and allowed on one function: `SharedMemory::atomics`.

pub mod cluster;
pub mod pool;
pub mod reports;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use ipc_channel::IpcError;
use ipc_channel::ipc::{IpcOneShotServer, IpcSender};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tempfile::TempPath;

/// A running child process in a worker role, killed and reaped if dropped before [`wait`].
///
/// [`wait`]: Worker::wait
#[derive(Debug)]
pub struct Worker {
    child: Child,
    /// The write end of the child's stdin: while it is open, the child knows we are alive.
    lifeline: Option<ChildStdin>,
}

impl Worker {
    /// Starts this executable again with `--worker ROLE` and `args`; `configure` can set up
    /// the child's stdout, say, before it starts.
    pub fn start(
        role: &str,
        args: &[String],
        configure: impl FnOnce(&mut Command),
    ) -> io::Result<Worker> {
        // Below it the runtime aborts in the worker, beyond any error handling (and leaves
        // ipc-channel's socket directory, or a scratch file, behind): refuse first.
        shared::limits::enough_address_space("workers")?;
        let exe = std::env::current_exe()?;
        // On Linux, the very file this process runs, even if a build replaced it meanwhile;
        // argv[0] still names the binary.
        #[cfg(target_os = "linux")]
        let mut command = {
            use std::os::unix::process::CommandExt;
            let mut command = Command::new("/proc/self/exe");
            command.arg0(&exe);
            command
        };
        #[cfg(not(target_os = "linux"))]
        let mut command = Command::new(&exe);
        command.args(["--worker", role]).args(args);
        configure(&mut command);
        // Set last, so that `configure` cannot take the lifeline away by accident.
        command.stdin(Stdio::piped());
        let mut child =
            command.spawn().map_err(|err| with_limit_hint(err, "starting a process"))?;
        let lifeline = child.stdin.take();
        Ok(Worker { child, lifeline })
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, to take its stdout or to ask `try_wait` whether it is still running.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The write end of the child's stdin, the lifeline, for a child that reads its stdin as
    /// data instead of calling [`exit_with_parent`]: its end of file still tells the child
    /// that the parent is done or gone. Drop it before waiting, or the child waits for ever.
    pub fn take_lifeline(&mut self) -> Option<ChildStdin> {
        self.lifeline.take()
    }

    /// Waits for the child to end; anything but a clean exit is an error that names `who`
    /// and says how it ended ("the server exited with code 101 (a Rust panic)").
    pub fn finish(self, who: &str) -> anyhow::Result<()> {
        let status = self.wait()?;
        anyhow::ensure!(status.success(), "{who} {}", how_it_ended(status));
        Ok(())
    }

    /// Reads the child's piped stdout and stderr to their ends, both at once (a child that
    /// fills one pipe while we wait on the other would wait for ever), then waits for it.
    pub fn wait_with_output(mut self) -> anyhow::Result<Output> {
        use anyhow::Context;
        let mut stderr = self.child.stderr.take().context("the child's stderr is not piped")?;
        let read_stderr = std::thread::Builder::new()
            .spawn(move || io::read_to_string(&mut stderr))
            .context(STDERR_THREAD_REFUSED)?;
        let stdout = self.child.stdout.take().context("the child's stdout is not piped")?;
        let stdout = io::read_to_string(stdout)?;
        let stderr = read_stderr.join().expect("the stderr reader panicked")?;
        Ok(Output { status: self.wait()?, stdout, stderr })
    }

    /// Waits for the child to end, and returns how it ended.
    pub fn wait(mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait();
        // Only now let go of the lifeline: the child has ended anyway.
        self.lifeline.take();
        status
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Dropped before `wait`: the child must not outlive us. Both calls fail harmlessly
        // if the child has already ended and been reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hidden flags with which a binary starts itself as a child ([`Worker::start`]): flatten
/// it into the binary's `Args` (`#[command(flatten)] child: ChildRole`). `--worker ROLE` makes
/// the process a child; `--connect` and `--clock` carry what its parent passes along.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ChildRole {
    /// Internal: run as a child in this role (the parent passes it)
    #[arg(long = "worker", hide = true, value_name = "ROLE")]
    role: Option<String>,
    /// Internal: the parent's one-shot server
    #[arg(long, hide = true, requires = "role")]
    connect: Option<String>,
    /// Internal: the parent's timeline origin
    #[arg(long, hide = true, requires = "role")]
    clock: Option<String>,
    /// Internal: a file the parent shares with the child
    #[arg(long, hide = true, requires = "role")]
    file: Option<PathBuf>,
}

impl ChildRole {
    /// In the parent, `None`; in a child, its role, one of `R`'s. An unknown role is a usage
    /// error (exit code 2), as any bad flag is.
    pub fn role<R: clap::ValueEnum>(&self) -> Option<R> {
        let role = self.role.as_deref()?;
        Some(R::from_str(role, false).unwrap_or_else(|_| {
            let roles = R::value_variants().iter().filter_map(|r| r.to_possible_value());
            let roles: Vec<String> = roles.map(|r| format!("'{}'", r.get_name())).collect();
            usage_error(&format!(
                "invalid value '{role}' for '--worker': its roles are {}",
                roles.join(", ")
            ))
        }))
    }

    /// In the parent, `None`; in a child, its role, which must be one of `roles`.
    pub fn role_in<'a>(&self, roles: &[&'a str]) -> Option<&'a str> {
        let given = self.role.as_deref()?;
        let known = roles.iter().find(|&&role| role == given);
        Some(known.unwrap_or_else(|| {
            usage_error(&format!(
                "invalid value '{given}' for '--worker': its roles are {}",
                roles.join(", ")
            ))
        }))
    }

    /// Whether this process is the child in `role`, the only role of this binary.
    pub fn is(&self, role: &str) -> bool {
        match self.role.as_deref() {
            None => false,
            Some(given) if given == role => true,
            Some(given) => usage_error(&format!(
                "invalid value '{given}' for '--worker': its role is '{role}'"
            )),
        }
    }

    /// In a child started by [`Worker::start_connected`]: the parent's one-shot server.
    pub fn connect(&self) -> &str {
        self.connect.as_deref().unwrap_or_else(|| usage_error("--worker needs --connect NAME"))
    }

    /// In a child: the file its parent shares with it (`--file PATH`), to map, say.
    pub fn file(&self) -> &Path {
        self.file.as_deref().unwrap_or_else(|| usage_error("--worker needs --file PATH"))
    }

    /// In a child: the parent's timeline origin (`shared::timeline::Timeline::origin_token`).
    pub fn clock(&self) -> &str {
        self.clock.as_deref().unwrap_or_else(|| usage_error("--worker needs --clock TOKEN"))
    }
}

/// The name under which `--worker` takes `role`, for [`Worker::start`]: clap's own spelling
/// of the variant (`square-root` for `SquareRoot`), so that [`ChildRole::role`] reads it back.
pub fn role_name<R: clap::ValueEnum>(role: &R) -> String {
    shared::cli::spelled(role)
}

/// Ends the process as clap does for a bad argument: the message on stderr, exit code 2.
fn usage_error(message: &str) -> ! {
    clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{message}\n")).exit()
}

/// How a process ended, in words: "exited with code 101 (a Rust panic)", "killed by signal 6
/// (SIGABRT: an abort)".
pub fn how_it_ended(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        let meaning = match code {
            0 => " (success)",
            101 => " (a Rust panic)",
            PARENT_GONE => " (its parent was gone)",
            _ => "",
        };
        return format!("exited with code {code}{meaning}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(number) = status.signal() {
            return format!("killed by signal {number}{}", signal_name(number));
        }
    }
    format!("ended: {status}")
}

/// " (SIGABRT: an abort)" for 6, say: the signal's name, and what it usually means here.
#[cfg(target_os = "linux")]
fn signal_name(number: i32) -> String {
    use nix::sys::signal::Signal;
    let Ok(signal) = Signal::try_from(number) else { return String::new() };
    let meaning = match signal {
        Signal::SIGABRT => ": an abort",
        Signal::SIGKILL => ": killed outright",
        Signal::SIGSEGV => ": a bad memory access",
        Signal::SIGTERM => ": asked to end",
        _ => "",
    };
    format!(" ({}{meaning})", signal.as_str())
}

#[cfg(all(unix, not(target_os = "linux")))]
fn signal_name(_: i32) -> String {
    String::new()
}

/// The exit code of a child that [`exit_with_parent`] ended because its parent was gone.
pub const PARENT_GONE: i32 = 3;

/// In a child: ends this process, with exit code [`PARENT_GONE`], as soon as the parent is
/// gone (its lifeline pipe closes). Call it first thing in the worker role.
///
/// On Linux it also asks the kernel to kill this process with `SIGKILL` when the parent dies
/// (`prctl(PR_SET_PDEATHSIG)`), which works even if the lifeline thread never gets to run;
/// there, a child whose parent died is usually killed by that signal before it can exit
/// with `PARENT_GONE`.
///
/// The kernel watches the parent *thread* that started the child, so start workers from a
/// thread that lives as long as they should (every binary here uses its main thread). If the
/// parent died before this call, the lifeline still notices.
pub fn exit_with_parent() {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::prctl;
        // Ignored: it can fail (a sandbox that forbids `prctl`); the lifeline still works.
        let _ = prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        // Started from /proc/self/exe, the kernel calls this process "exe": give it back its
        // binary's name, for `ps` and `top`.
        let name = std::env::args_os().next().map(PathBuf::from);
        if let Some(name) = name.as_deref().and_then(Path::file_name)
            && let Ok(name) = std::ffi::CString::new(name.as_encoded_bytes())
        {
            let _ = prctl::set_name(&name);
        }
    }
    let lifeline = std::thread::Builder::new().name("lifeline".into()).spawn(|| {
        // The parent never writes: a read returns 0 bytes only when its end of the pipe
        // closes, that is, when the parent has exited or been killed.
        let mut byte = [0];
        loop {
            match io::stdin().read(&mut byte) {
                Ok(0) => std::process::exit(PARENT_GONE),
                Err(err) if err.kind() != io::ErrorKind::Interrupted => {
                    std::process::exit(PARENT_GONE)
                }
                _ => {} // A stray byte, or a signal interrupting the read: keep watching.
            }
        }
    });
    if let Err(err) = lifeline {
        // Without its lifeline a child could outlive its parent: better not to run at all.
        eprintln!("error: a child could not start the thread that watches its parent ({err})");
        std::process::exit(1);
    }
}

/// In a child, around its work: a channel that broke because the other side hung up — the
/// parent leaving early (its guard kills this child a moment later), or a sibling that died —
/// is not this child's failure to report. It ends the child quietly, with [`PARENT_GONE`];
/// the parent, if it is still there, says what went wrong. Any other error is returned.
pub fn quiet_if_hung_up(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(err) if hung_up(&err) => std::process::exit(PARENT_GONE),
        result => result,
    }
}

/// Whether `err` comes from a channel or pipe whose other end is gone.
fn hung_up(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(cause.downcast_ref::<IpcError>(), Some(IpcError::Disconnected))
            || cause.downcast_ref::<io::Error>().is_some_and(|err| {
                matches!(err.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
            })
    })
}

/// The first message on the one-shot server: the child's hello, or the parent's own
/// `Cancel`, sent only to unblock an `accept` that no child will answer (and never read).
#[derive(serde::Serialize, serde::Deserialize)]
enum Hello<T> {
    Ready(T),
    Cancel,
}

/// What `wait_with_output` says when the OS refuses its thread.
const STDERR_THREAD_REFUSED: &str =
    "starting a thread to read the child's stderr (is a limit such as ulimit -u or -v too low?)";

/// What a child wrote to its stdout and stderr, and how it ended: [`Worker::wait_with_output`].
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// How long a started child has to connect before [`Worker::start_connected`] gives up.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

impl Worker {
    /// Starts a worker and waits for its first ipc-channel message — typically the channel
    /// ends it will use — through a one-shot server whose name it gets as `--connect NAME`.
    ///
    /// It never hangs: `accept` runs on a helper thread, and if the child ends before it
    /// connects, or does not connect within [`CONNECT_DEADLINE`], this returns an error and
    /// unblocks the helper by connecting to the server itself.
    pub fn start_connected<T>(
        role: &str,
        args: &[String],
        configure: impl FnOnce(&mut Command),
    ) -> io::Result<(Worker, T)>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        // ipc-channel makes its socket in a new directory in the temporary directory, and
        // panics if it cannot (an unusable TMPDIR): try that first, and say what to do.
        tempfile::Builder::new().tempdir().map_err(|err| {
            let dir = std::env::temp_dir();
            let what =
                format!("cannot make a directory in {} for ipc-channel's socket", dir.display());
            io::Error::new(
                err.kind(),
                format!("{what} ({err}): set TMPDIR to a writable directory"),
            )
        })?;
        enough_file_descriptors()?;
        let (server, name, _forget) = one_shot_server::<Hello<T>>()?;
        // First, so that it stays a flag even if `args` holds a `--`.
        let args: Vec<String> =
            std::iter::once(format!("--connect={name}")).chain(args.iter().cloned()).collect();
        let mut worker = Worker::start(role, &args, configure)?;
        let (accepted, hello) = mpsc::channel();
        // `Builder`, not `thread::spawn`: a thread that cannot start is an error, not a panic.
        let handshake = std::thread::Builder::new().name("handshake".into()).spawn(move || {
            // Ignored: the receiver is gone only if we gave up, and then nobody cares.
            let _ = accepted.send(server.accept().map(|(_, hello)| hello));
        });
        handshake.map_err(|err| with_limit_hint(err, "starting the handshake thread"))?;
        let started = Instant::now();
        let failure = loop {
            match hello.recv_timeout(Duration::from_millis(20)) {
                Ok(Ok(Hello::Ready(first))) => return Ok((worker, first)),
                Ok(Err(err)) => return Err(io::Error::other(err)),
                Ok(Ok(Hello::Cancel)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break io::Error::other("the handshake thread ended without an answer");
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let status = match worker.child().try_wait() {
                Ok(status) => status,
                Err(err) => break err,
            };
            if let Some(status) = status {
                // It may have said hello just before it ended: give the helper a moment.
                if let Ok(Ok(Hello::Ready(first))) = hello.recv_timeout(Duration::from_millis(200))
                {
                    return Ok((worker, first));
                }
                break io::Error::other(format!(
                    "the {role} worker ended ({status}) before connecting"
                ));
            }
            if started.elapsed() > CONNECT_DEADLINE {
                break io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the {role} worker did not connect"),
                );
            }
        };
        // Nobody will connect: do it ourselves, so that the helper's `accept` returns, and give
        // it a moment to remove the server's socket directory before we return (and maybe
        // exit). A `SIGKILL` during a handshake leaves that directory behind: ipc-channel's.
        if let Ok(sender) = IpcSender::<Hello<T>>::connect(name) {
            let _ = sender.send(Hello::Cancel);
            let _ = hello.recv_timeout(Duration::from_secs(1));
        }
        Err(failure)
    }
}

/// ipc-channel's one-shot server, whose socket sits in a directory of its own until `accept`
/// returns (or the server is dropped): listed for removal on a signal meanwhile (the lock
/// held while it is made), and taken off the list when the returned guard is dropped.
fn one_shot_server<T>() -> io::Result<(IpcOneShotServer<T>, String, Forget)>
where
    T: Serialize + DeserializeOwned,
{
    let mut to_remove = remove_on_signal();
    let (server, name) = IpcOneShotServer::<T>::new()?;
    let socket_dir = Path::new(&name).parent().map(Path::to_owned).unwrap_or_default();
    to_remove.push(socket_dir.clone());
    Ok((server, name, Forget(socket_dir)))
}

/// Takes its path off the list of [`remove_on_signal`] when dropped.
struct Forget(PathBuf);

impl Drop for Forget {
    fn drop(&mut self) {
        remove_on_signal().retain(|path| *path != self.0);
    }
}

/// `err` from starting a process or thread, saying what was being started and, where the
/// OS refused for want of resources (`EAGAIN`), which limit to look at.
fn with_limit_hint(err: io::Error, what: &str) -> io::Error {
    let hint = if err.kind() == io::ErrorKind::WouldBlock {
        " (is a limit such as ulimit -u too low?)"
    } else {
        ""
    };
    io::Error::new(err.kind(), format!("{what}{hint}: {err}"))
}

/// File descriptors a connected worker may need in the parent: its pipes, the one-shot
/// server, the channels it sends, with room to spare.
const FDS_PER_WORKER: u64 = 8;

/// ipc-channel panics deep inside when a process runs out of file descriptors (a low
/// `ulimit -n`): check before each worker that some are left, and say what to do.
fn enough_file_descriptors() -> io::Result<()> {
    shared::limits::enough_file_descriptors(FDS_PER_WORKER, "another worker")
}

/// In a child started by [`Worker::start_connected`]: connects to the parent's one-shot
/// server (the `--connect` name) and sends `first`, once.
pub fn connect_to_parent<T: Serialize>(name: &str, first: T) -> io::Result<()> {
    let sender = IpcSender::<Hello<T>>::connect(name.to_string())?;
    sender.send(Hello::Ready(first)).map_err(io::Error::other)
}

/// A file mapped into memory, read-write and shared with every process that maps it too: how
/// this chapter shares numbers between processes (`shared-memory`, `bank-balance`), seen as a
/// slice of 64-bit atomics. The chapter's one `unsafe` block is here, so that no binary needs one.
#[derive(Debug)]
pub struct SharedMemory(memmap2::MmapRaw);

impl SharedMemory {
    /// Maps all of `file`, which must be open for reading and writing, from its first byte.
    pub fn map(file: &File) -> io::Result<SharedMemory> {
        memmap2::MmapRaw::map_raw(file).map(SharedMemory)
    }

    /// The mapping as atomics (bytes past the last whole 8 are left out). Every process must
    /// touch these bytes only through atomics, as here, and none may shrink the file while
    /// it is mapped (the OS would answer a touch past its end with `SIGBUS`).
    #[allow(unsafe_code)]
    pub fn atomics<A: Atomic64>(&self) -> &[A] {
        let len = self.0.len() / size_of::<A>();
        // Any 8 bytes are a valid `A` (an `AtomicU64` or `AtomicI64`: `Atomic64` is sealed).
        // SAFETY: `map` mapped the file writable from offset 0: page-aligned, so aligned for `A`,
        // `len` × 8 bytes long; the slice borrows `self`; other processes write only atomically.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<A>(), len) }
    }
}

/// A start line in shared memory: adds this process to `ready`, then waits until `parties`
/// processes have (the parent resets it to 0 before each round). A process that waits 10 s
/// for a partner that never comes (it died) gives up with an error, so that its exit tells
/// the parent, which must not hang.
pub fn wait_for_each_other(ready: &std::sync::atomic::AtomicI64, parties: i64) -> io::Result<()> {
    use std::sync::atomic::Ordering::{AcqRel, Acquire};
    ready.fetch_add(1, AcqRel);
    let waiting = Instant::now();
    while ready.load(Acquire) < parties {
        if waiting.elapsed() > Duration::from_secs(10) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the other process never came"));
        }
        std::thread::yield_now();
    }
    Ok(())
}

/// The atomics [`SharedMemory::atomics`] can hand out: 8 bytes, any bits a valid value.
pub trait Atomic64: Sync + sealed::Sealed {}
impl Atomic64 for std::sync::atomic::AtomicU64 {}
impl Atomic64 for std::sync::atomic::AtomicI64 {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for std::sync::atomic::AtomicU64 {}
    impl Sealed for std::sync::atomic::AtomicI64 {}
}

/// A new, empty file that several processes open by name — to map as shared memory, or to
/// lock — and that is removed on every way out the program controls.
///
/// `tempfile` creates it under a fresh random name, readable and writable by this user only
/// (mode 0600), in [`scratch_dir`]. It is removed when dropped (a normal end, an error, a
/// panic) and on Ctrl-C, `SIGTERM` or `SIGHUP`. For the ways out no program controls (a
/// `SIGKILL`), call [`unlink`](ScratchFile::unlink) as soon as every process has opened it:
/// on Unix an open file outlives its name, so from then on nothing can leave it behind.
#[derive(Debug)]
pub struct ScratchFile {
    file: File,
    path: PathBuf,
    /// Removes the file when dropped; `None` once it has been unlinked.
    remover: Option<TempPath>,
}

impl ScratchFile {
    /// Creates the file, `len` bytes of zeros, with a name that starts with `prefix`.
    pub fn new(prefix: &str, len: u64) -> io::Result<ScratchFile> {
        // Held while the file is created, so that a Ctrl-C meanwhile waits and finds it listed.
        let mut to_remove = remove_on_signal();
        let builder = tempfile::Builder::new().prefix(prefix).tempfile_in(scratch_dir())?;
        let (file, remover) = builder.into_parts();
        let path = remover.to_path_buf();
        to_remove.push(path.clone());
        drop(to_remove);
        let scratch = ScratchFile { file, path, remover: Some(remover) };
        reserve(&scratch.file, len).map_err(|err| {
            let dir = scratch_dir();
            let what = format!("no room for {len} bytes of shared memory in {}", dir.display());
            io::Error::new(err.kind(), format!("{what} ({err}): free some space there"))
        })?;
        Ok(scratch)
    }

    /// The file's name, for the other processes to open.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file, open for reading and writing.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Removes the file's name now. Call it once every process has the file open: they keep
    /// using it, and the memory is freed when the last of them closes it. (On Windows a
    /// mapped file cannot be removed: there this does nothing, and the drop removes it.)
    pub fn unlink(&mut self) -> io::Result<()> {
        if cfg!(not(unix)) {
            return Ok(());
        }
        if self.remover.is_some() {
            std::fs::remove_file(&self.path)?; // On failure, the drop still tries.
            let _ = self.remover.take().map(TempPath::keep); // Nothing left for it to remove.
            self.forget_on_ctrl_c();
        }
        Ok(())
    }

    fn forget_on_ctrl_c(&self) {
        remove_on_signal().retain(|p| *p != self.path);
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        drop(self.remover.take()); // Removes the file, if it still has a name.
        self.forget_on_ctrl_c();
    }
}

/// Makes `file` `len` bytes long, with its memory allocated now. A file merely made longer
/// (`set_len`) has no pages yet: where there is no room for them (a full `/dev/shm`), the
/// first write to a mapping of it would kill the process with `SIGBUS`, without a word.
/// `posix_fallocate` allocates them now, or fails with an error we can report.
fn reserve(file: &File, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let len = i64::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::FileTooLarge))?;
        match nix::fcntl::posix_fallocate(file, 0, len) {
            // A file system without `fallocate` gets a plain length below.
            Err(nix::errno::Errno::EOPNOTSUPP) => {}
            result => return result.map_err(io::Error::from),
        }
    }
    file.set_len(len)
}

/// What to remove if Ctrl-C, `SIGTERM` or `SIGHUP` ends the program: scratch files, and
/// ipc-channel's socket directory during a handshake.
static REMOVE_ON_SIGNAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The list of paths to remove on a signal, locked; the first call sets up the handler. While
/// the list is held, a signal's handler waits: hold it while a path is made and listed.
fn remove_on_signal() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(remove_listed_paths_on_signals);
    REMOVE_ON_SIGNAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ctrl-C, `SIGTERM` and `SIGHUP` end a process without running destructors. A thread waits
/// for them instead, removes the listed paths, and then lets the signal end the process as it
/// would have, so the shell still reports it (exit status 130, 143 or 129). A signal ignored
/// when the program started (`SIGHUP` under `nohup`, `SIGINT` for `cmd &` in a script) stays
/// ignored: it would not have ended the program. If the thread cannot start, the signals keep
/// their usual effect and only the destructors clean up.
#[cfg(unix)]
fn remove_listed_paths_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let (listening, wait_until) = mpsc::channel();
    let waiter = std::thread::Builder::new().name("on-signal".into()).spawn(move || {
        let ending = [SIGINT, SIGTERM, SIGHUP].into_iter().filter(|&s| !ignored_at_start(s));
        let Ok(mut signals) = signal_hook::iterator::Signals::new(ending) else { return };
        let _ = listening.send(());
        if let Some(signal) = signals.forever().next() {
            remove_listed_paths();
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal); // Only if the signal did not end the process.
        }
    });
    if waiter.is_ok() {
        let _ = wait_until.recv(); // Registered: a signal from now on removes what is listed.
    }
}

/// Removes every listed path: called only when a signal is about to end the process.
fn remove_listed_paths() {
    for path in remove_on_signal().iter() {
        let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir_all(path));
    }
}

/// Whether `signal` is ignored in this process (as it was when the program started, since
/// nothing here ignores one): its bit in the `SigIgn` mask of `/proc/self/status` on Linux.
/// Elsewhere a signal is taken to be handled as usual.
#[cfg(unix)]
fn ignored_at_start(signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return false };
    let mask = status.lines().find_map(|line| line.strip_prefix("SigIgn:"));
    let mask = mask.and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    mask.is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

/// Elsewhere (Windows), ctrlc's handler for Ctrl-C and the console closing: remove the listed
/// paths, then exit with 130, the usual code after Ctrl-C.
#[cfg(not(unix))]
fn remove_listed_paths_on_signals() {
    let _ = ctrlc::try_set_handler(|| {
        remove_listed_paths();
        std::process::exit(130);
    });
}

/// Where [`ScratchFile`]s go: `/dev/shm` on Linux (memory, never written to a disk), the temp
/// dir elsewhere or when there is no `/dev/shm`.
pub fn scratch_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if cfg!(target_os = "linux") && shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn exit_statuses_are_told_in_words() {
        use std::os::unix::process::ExitStatusExt;
        // Raw wait statuses: an exit code sits in the second byte, a signal in the first.
        let said = |raw| how_it_ended(ExitStatus::from_raw(raw));
        assert_eq!(said(0), "exited with code 0 (success)");
        assert_eq!(said(101 << 8), "exited with code 101 (a Rust panic)");
        assert_eq!(said(PARENT_GONE << 8), "exited with code 3 (its parent was gone)");
        assert_eq!(said(6), "killed by signal 6 (SIGABRT: an abort)");
        assert_eq!(said(9), "killed by signal 9 (SIGKILL: killed outright)");
        assert_eq!(said(10), "killed by signal 10 (SIGUSR1)");
    }

    /// The name a role is started under is the one `--worker` reads back, in clap's spelling.
    #[test]
    fn a_role_is_started_under_the_name_its_child_reads_back() {
        #[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
        enum Role {
            Square,
            SquareRoot,
        }
        assert_eq!(role_name(&Role::SquareRoot), "square-root");
        for role in [Role::Square, Role::SquareRoot] {
            let child = ChildRole { role: Some(role_name(&role)), ..ChildRole::default() };
            assert_eq!(child.role::<Role>(), Some(role));
        }
    }

    /// Both pipes are read to their ends, and the child's ending comes with them. The "child"
    /// is this test program, which rejects `--worker` on stderr, with nothing on stdout. (That
    /// they are read at once, not one after the other, a child this small cannot show.)
    #[test]
    fn a_childs_output_comes_with_how_it_ended() {
        let worker = Worker::start("nobody", &[], |command| {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        });
        let output = worker.unwrap().wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(101), "{output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        assert!(output.stderr.contains("worker"), "{output:?}");
    }

    /// A child that ends before it connects makes the handshake fail at once, not hang. Here
    /// the "child" is this test program itself, which rejects `--worker` and exits at once.
    #[test]
    fn a_child_that_never_connects_is_an_error_not_a_hang() {
        let started = Instant::now();
        let result = Worker::start_connected::<u32>("nobody", &[], |command| {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        });
        let err = result.expect_err("nobody connected");
        assert!(err.to_string().contains("before connecting"), "{err}");
        assert!(started.elapsed() < CONNECT_DEADLINE, "it waited for the deadline");
    }

    #[test]
    fn a_scratch_file_is_private_and_gone_after_unlink_or_drop() {
        let mut unlinked = ScratchFile::new("test-scratch", 64).unwrap();
        let dropped = ScratchFile::new("test-scratch", 8).unwrap();
        let (first, second) = (unlinked.path().to_owned(), dropped.path().to_owned());
        assert_eq!(std::fs::metadata(&first).unwrap().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only its owner may open it");
        }
        unlinked.unlink().unwrap();
        if cfg!(unix) {
            assert!(!first.exists());
            assert_eq!(unlinked.file().metadata().unwrap().len(), 64, "still open after unlink");
        }
        drop((unlinked, dropped));
        assert!(!first.exists() && !second.exists());
        let to_remove = remove_on_signal();
        assert!(!to_remove.contains(&first) && !to_remove.contains(&second));
    }

    /// A full `/dev/shm` is an error that says so, not a `SIGBUS` at the first write; a terabyte
    /// is more than any `/dev/shm` here holds (tmpfs refuses it at once), and the file is gone.
    #[cfg(target_os = "linux")]
    #[test]
    fn no_room_for_shared_memory_is_an_error_and_leaves_no_file() {
        let err = ScratchFile::new("test-no-room-", 1 << 40).expect_err("a terabyte fitted");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        let message = err.to_string();
        assert!(message.starts_with("no room for 1099511627776 bytes"), "{message}");
        assert!(message.contains(&scratch_dir().display().to_string()), "{message}");
        let left = std::fs::read_dir(scratch_dir()).unwrap().flatten();
        assert!(
            !left.into_iter().any(|e| e.file_name().to_string_lossy().starts_with("test-no-room-"))
        );
    }

    #[test]
    fn only_a_broken_channel_counts_as_hung_up() {
        use anyhow::Context;
        let disconnected = anyhow::Error::from(IpcError::Disconnected).context("receiving");
        let broken = IpcError::Io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(hung_up(&disconnected) && hung_up(&anyhow::Error::from(broken)));
        let other = Err::<(), _>(io::Error::other("a bug")).context("working");
        assert!(!hung_up(&other.unwrap_err()));
        assert!(!hung_up(&anyhow::Error::from(io::Error::from(io::ErrorKind::NotFound))));
    }

    /// Not a test of its own: the process that `ctrl_c_removes_scratch_files` interrupts.
    #[test]
    #[ignore = "run by ctrl_c_removes_scratch_files"]
    fn hold_a_scratch_file_until_interrupted() {
        let scratch = ScratchFile::new("test-ctrl-c-", 8).unwrap();
        println!("scratch file: {}", scratch.path().display());
        std::thread::sleep(Duration::from_secs(30));
    }

    /// Not a test of its own: the process that `a_signal_removes_the_handshake_socket`
    /// interrupts while its one-shot server waits for a child.
    #[test]
    #[ignore = "run by a_signal_removes_the_handshake_socket"]
    fn hold_a_one_shot_server_until_interrupted() {
        let (_server, name, _forget) = one_shot_server::<u32>().unwrap();
        println!("socket: {name}");
        std::thread::sleep(Duration::from_secs(30));
    }

    /// Starts `holder`, an ignored test of this binary that prints a path after `prefix` and
    /// then waits (under `nohup` if `nohup`); returns it and the path, which must exist.
    #[cfg(unix)]
    fn start_holder(holder: &str, prefix: &str, nohup: bool) -> (std::process::Child, PathBuf) {
        use std::io::BufRead;
        let test_binary = std::env::current_exe().unwrap();
        let mut command = if nohup { Command::new("nohup") } else { Command::new(&test_binary) };
        if nohup {
            command.arg(&test_binary);
        }
        let mut holder = command
            .args([holder, "--exact", "--ignored", "--nocapture"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()) // nohup's "ignoring input"
            .spawn()
            .unwrap();
        let lines = io::BufReader::new(holder.stdout.take().unwrap()).lines();
        let path = lines
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix(prefix).map(PathBuf::from))
            .expect("the holder names its path");
        assert!(path.exists(), "{}", path.display());
        (holder, path)
    }

    /// Sends `signal` (as `kill` spells it) to `child`.
    #[cfg(unix)]
    fn send(signal: &str, child: &std::process::Child) {
        let pid = child.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }

    /// Runs `holder` (see [`start_holder`]), sends it `signal` and checks that the signal
    /// ended it (as a shell would see it: 128 + the signal's number); returns the path.
    #[cfg(unix)]
    fn interrupt(holder: &str, prefix: &str, signal: &str, number: i32) -> PathBuf {
        use std::os::unix::process::ExitStatusExt;
        let (mut holder, path) = start_holder(holder, prefix, false);
        send(signal, &holder);
        assert_eq!(holder.wait().unwrap().signal(), Some(number), "ended by the signal sent");
        path
    }

    /// A signal during a handshake (here SIGTERM) leaves no socket directory behind.
    #[cfg(unix)]
    #[test]
    fn a_signal_removes_the_handshake_socket() {
        let holder = "tests::hold_a_one_shot_server_until_interrupted";
        let socket = interrupt(holder, "socket: ", "-TERM", 15);
        let dir = socket.parent().unwrap();
        assert!(dir.starts_with(std::env::temp_dir()) && !dir.exists(), "{}", dir.display());
    }

    /// Ctrl-C runs no destructor, but the handler removes the file before the process exits.
    #[cfg(unix)]
    #[test]
    fn ctrl_c_removes_scratch_files() {
        let path =
            interrupt("tests::hold_a_scratch_file_until_interrupted", "scratch file: ", "-INT", 2);
        assert!(!path.exists(), "{} was left behind", path.display());
    }

    /// Under `nohup`, `SIGHUP` is ignored and stays so (the process lives on); `SIGTERM` still
    /// removes the file and ends the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_signal_ignored_at_start_stays_ignored_and_the_others_still_clean_up() {
        use std::os::unix::process::ExitStatusExt;
        let holder = "tests::hold_a_scratch_file_until_interrupted";
        let (mut holder, path) = start_holder(holder, "scratch file: ", true);
        send("-HUP", &holder);
        std::thread::sleep(Duration::from_millis(300));
        assert!(holder.try_wait().unwrap().is_none(), "SIGHUP ended a process under nohup");
        assert!(path.exists(), "SIGHUP removed the file");
        send("-TERM", &holder);
        assert_eq!(holder.wait().unwrap().signal(), Some(15));
        assert!(!path.exists(), "{} was left behind", path.display());
    }
}
