//! A process pool, as Python's `multiprocessing.Pool` is one: [`Pool::map`] runs jobs on a
//! few long-lived worker processes and returns the results in the order of the jobs.
//!
//! Starting a process costs about a millisecond, so the pool starts its workers once and
//! reuses them. Unlike Python's, a worker that dies is replaced and the task it was running is
//! retried, once (`multiprocessing.Pool` can hang for ever when a worker dies;
//! `concurrent.futures` gives up with `BrokenProcessPool`). The retry makes a task run *at
//! least once*: one that had side effects before its worker died has them twice.
//!
//! The pool is generic over the job `J` and the result `R`, which travel between processes as
//! ipc-channel messages (serde). A function cannot travel between Rust processes, so a
//! binary names its work in `J` (an enum, say), and its workers — the same binary, started in
//! the role [`ROLE`] — call [`serve`] with the function that does one job.
//!
//! How it works: each worker holds at most one task at a time, so tasks never pile up in a
//! channel of a worker that may die, and has a result channel of its own. The parent waits on
//! all of them at once with an `IpcReceiverSet`, which also reports a channel whose process
//! ended (`ChannelClosed`): then the pool reaps that worker, starts another and puts the lost
//! task first in the queue. With `max_tasks`, a worker that has run that many tasks is retired
//! (ended and replaced) when it would get its next one, as `maxtasksperchild` does.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use ipc_channel::IpcError;
use ipc_channel::ipc::{self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use shared::report::plural;
use shared::timeline::Timeline;

use crate::{Worker, connect_to_parent, exit_with_parent, how_it_ended, quiet_if_hung_up};

/// The role a pool starts its workers in: `--worker worker`.
pub const ROLE: &str = "worker";

/// A job on its way to a worker, with its place in [`Pool::map`]'s input.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task<J> {
    /// Where its result goes in `map`'s output, from 0 (a `Death` numbers tasks from 1).
    index: usize,
    /// Whether a worker already died running this task: this is its one retry.
    retry: bool,
    job: J,
}

/// A pool worker's `main`, in a process started by a [`Pool`] (with `--connect NAME`): it
/// ends with its parent ([`exit_with_parent`]), connects to the pool, runs `initializer` once
/// (after connecting, so that a slow one cannot miss the connection deadline), then does each
/// job it is sent with `work(job, retry)` and sends back the result, until the pool hangs up.
/// `retry` is true when a worker already died running that job.
pub fn serve<J, R>(
    connect: &str,
    initializer: impl FnOnce(),
    mut work: impl FnMut(J, bool) -> R,
) -> Result<()>
where
    J: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    exit_with_parent();
    let (task_sender, tasks) = ipc::channel::<Task<J>>()?;
    let (results, results_receiver) = ipc::channel::<R>()?;
    connect_to_parent(connect, (task_sender, results_receiver))?;
    initializer();
    let mut serve = || -> Result<()> {
        loop {
            let task = match tasks.recv() {
                Ok(task) => task,
                // The pool ends a worker by dropping its task sender.
                Err(IpcError::Disconnected) => return Ok(()),
                Err(err) => return Err(err.into()),
            };
            results.send(work(task.job, task.retry))?;
        }
    };
    // A failed send means the pool is gone: the worker ends without a word.
    quiet_if_hung_up(serve())
}

/// A worker that died, and what the pool did about it.
#[derive(Debug, Clone)]
pub struct Death {
    pub pid: u32,
    /// How it ended, in words ([`how_it_ended`]).
    pub how: String,
    /// The pid of the worker started in its place.
    pub replaced_by: u32,
    /// The task it was running (numbered from 1), put first in the queue again.
    pub lost_task: Option<usize>,
}

impl fmt::Display for Death {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Death { pid, how, replaced_by, .. } = self;
        write!(f, "Worker {pid} {how}. Started {replaced_by} in its place")?;
        match self.lost_task {
            Some(task) => write!(f, "; task {task}, which it was running, goes first again."),
            None => write!(f, "; it was idle."),
        }
    }
}

/// A pool of worker processes; see the [module's documentation](self).
pub struct Pool<J, R> {
    /// The workers, by the id of their result channel in `results`.
    slots: HashMap<u64, Slot<J>>,
    /// Every worker's result channel; a closed one means its worker has ended.
    results: IpcReceiverSet,
    max_tasks: Option<NonZeroU32>,
    /// How many workers were retired after `max_tasks` tasks, and replaced.
    pub retired: u32,
    /// The workers that died, in the order the pool found out.
    pub deaths: Vec<Death>,
    /// Set while `map` runs: a `map` that failed leaves tasks in flight, so the pool is done.
    broken: bool,
    _results: PhantomData<R>,
}

/// What [`Pool::replace`] did: the new worker's id, the task the old one was running, and
/// whether the old one had died (rather than ending when asked).
struct Replaced<J> {
    id: u64,
    lost: Option<Task<J>>,
    died: bool,
}

/// A worker as the pool sees it: the process, where its tasks go, what it is doing and
/// since when (on the [`record_timeline`] clock).
struct Slot<J> {
    worker: Worker,
    tasks: IpcSender<Task<J>>,
    done: u32,
    busy: Option<Task<J>>,
    since: Duration,
}

impl<J, R> Pool<J, R>
where
    J: Clone + Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    /// Starts `workers` worker processes: this binary again, in the role [`ROLE`]. With
    /// `max_tasks`, each is retired after that many tasks.
    pub fn new(workers: u32, max_tasks: Option<u32>) -> Result<Self> {
        ensure!(workers > 0, "a pool needs at least one worker");
        let max_tasks = max_tasks.map(|max| NonZeroU32::new(max).context("max_tasks of 0"));
        let max_tasks = max_tasks.transpose()?;
        let (results, slots, deaths) = (IpcReceiverSet::new()?, HashMap::new(), Vec::new());
        let (retired, broken, _results) = (0, false, PhantomData);
        let mut pool = Pool { slots, results, max_tasks, retired, deaths, broken, _results };
        for _ in 0..workers {
            pool.start_worker()?;
        }
        Ok(pool)
    }

    /// Runs every job on the workers; the results come back in the order of `jobs`. After an
    /// error, the pool is of no more use (its workers may still be busy): make a new one.
    pub fn map(&mut self, jobs: impl IntoIterator<Item = J>) -> Result<Vec<R>> {
        ensure!(!self.broken, "this pool failed in an earlier map: make a new one");
        self.broken = true;
        let mut queue: VecDeque<Task<J>> = (jobs.into_iter().enumerate())
            .map(|(index, job)| Task { index, retry: false, job })
            .collect();
        let mut results: Vec<Option<R>> = queue.iter().map(|_| None).collect();
        let mut left = results.len();
        while left > 0 {
            self.hand_out(&mut queue)?;
            for event in self.results.select()? {
                match event {
                    IpcSelectionResult::MessageReceived(id, message) => {
                        let slot = self.slots.get_mut(&id).context("a result from nobody")?;
                        let task = slot.busy.take().context("a result for no task")?;
                        slot.done += 1;
                        let (lane, label) = (lane(&slot.worker), format!("{}", task.index + 1));
                        record(lane, label, slot.since, now());
                        results[task.index] = Some(message.to()?);
                        left -= 1;
                    }
                    // A retired worker's channel closes too, but it has left `slots`.
                    IpcSelectionResult::ChannelClosed(id) if self.slots.contains_key(&id) => {
                        if let Some(mut task) = self.replace(id, false)?.lost {
                            let number = task.index + 1;
                            ensure!(!task.retry, "task {number} crashed two workers: giving up");
                            task.retry = true;
                            queue.push_front(task);
                        }
                    }
                    IpcSelectionResult::ChannelClosed(_) => {}
                }
            }
        }
        self.broken = false;
        Ok(results.into_iter().map(|r| r.expect("every task came back")).collect())
    }

    /// Gives each idle worker the next task; retires a worker that has done `max_tasks`.
    fn hand_out(&mut self, queue: &mut VecDeque<Task<J>>) -> Result<()> {
        let idle: Vec<u64> =
            self.slots.iter().filter(|(_, s)| s.busy.is_none()).map(|(&id, _)| id).collect();
        for mut id in idle {
            let Some(task) = queue.pop_front() else { break };
            if self.max_tasks.is_some_and(|max| self.slots[&id].done >= max.get()) {
                // Retired when it is needed again, not before. One found dead by then is a
                // death (`replace` recorded it), not a retirement.
                let replaced = self.replace(id, true)?;
                self.retired += u32::from(!replaced.died);
                id = replaced.id;
            }
            let slot = self.slots.get_mut(&id).context("no such worker")?;
            slot.since = now(); // Before the send: the worker may finish before it returns.
            if slot.tasks.send(task.clone()).is_err() {
                // Dead or broken: make sure it is dead (its closed channel gets it replaced),
                // and give the task, which it never had, to the next worker.
                let _ = slot.worker.child().kill();
                queue.push_front(task);
                continue;
            }
            slot.busy = Some(task);
        }
        Ok(())
    }

    /// Ends worker `id` (or reaps it, if it died) and starts another in its place. A worker
    /// that ended when the pool had not `asked` it to, however it ended, is a death, recorded
    /// in `deaths`.
    fn replace(&mut self, id: u64, asked: bool) -> Result<Replaced<J>> {
        let Slot { worker, tasks, busy, since, .. } =
            self.slots.remove(&id).context("no such worker")?;
        drop(tasks); // Its `recv` fails and a live worker exits; a dead one has ended already.
        let (pid, lane) = (worker.id(), lane(&worker));
        let status = worker.wait()?;
        let died = !asked || !status.success();
        let (how, lost_task) = (how_it_ended(status), busy.as_ref().map(|task| task.index + 1));
        if died {
            // Drawn from the task's hand-out (or, idle, from now) until the pool found out.
            let (label, start) = match lost_task {
                Some(task) => (format!("{task}: {how}"), since),
                None => (how.clone(), now()),
            };
            record(lane, label, start, now());
        }
        let new_id = self.start_worker()?;
        if died {
            let replaced_by = self.slots[&new_id].worker.id();
            self.deaths.push(Death { pid, how, replaced_by, lost_task });
        }
        Ok(Replaced { id: new_id, lost: busy, died })
    }

    /// Starts a worker; returns the id of its result channel, its key in `slots`.
    fn start_worker(&mut self) -> Result<u64> {
        type Ends<J, R> = (IpcSender<Task<J>>, IpcReceiver<R>);
        let start = now();
        let (worker, (tasks, results)) = Worker::start_connected::<Ends<J, R>>(ROLE, &[], |_| {})
            .context("starting a pool worker")?;
        let since = now();
        record(lane(&worker), "start", start, since);
        let id = self.results.add(results)?;
        self.slots.insert(id, Slot { worker, tasks, done: 0, busy: None, since });
        Ok(id)
    }

    /// What happened to the workers so far, in words: each death, then the retirements.
    pub fn what_happened(&self) -> String {
        let mut text: String = self.deaths.iter().map(|death| format!("{death}\n")).collect();
        if let (Some(max), n @ 1..) = (self.max_tasks, self.retired) {
            let tasks = plural(max.get().into(), "task");
            let who = if n == 1 { "1 worker was".into() } else { format!("{n} workers were") };
            text += &format!("{who} retired after {tasks} and replaced.\n");
        }
        text
    }

    /// Lets every worker finish and exit (Python's `close()` and `join()`); an error if one
    /// did not exit cleanly. Like `join()`, it waits as long as a worker's task takes.
    /// (Dropping the pool instead kills the workers, as `terminate()` does.)
    pub fn close(self) -> Result<()> {
        // Every task sender is dropped first, so that all workers end at once.
        let workers: Vec<Worker> = self.slots.into_values().map(|slot| slot.worker).collect();
        for worker in workers {
            let status = worker.wait()?;
            ensure!(status.success(), "a worker failed as it ended: {}", how_it_ended(status));
        }
        Ok(())
    }
}

/// A worker's lane on the pool's timeline.
fn lane(worker: &Worker) -> String {
    format!("worker {}", worker.id())
}

/// The timeline the pools of this process record on, from the first call on (before that,
/// they record nothing): each worker's start, each task from when it was handed out until its
/// result came back, and each death, on a lane per worker (`worker <pid>`), as the parent saw
/// them. Opt-in, because the spans pile up for as long as the process lives.
pub fn record_timeline() -> &'static Timeline {
    TIMELINE.get_or_init(Timeline::new)
}

static TIMELINE: OnceLock<Timeline> = OnceLock::new();

/// Records a span on the [`record_timeline`], if it was asked for.
fn record(lane: String, label: impl Into<String>, start: Duration, end: Duration) {
    if let Some(timeline) = TIMELINE.get() {
        timeline.record(lane, label, start, end);
    }
}

/// Now, on the [`record_timeline`] clock (zero if there is none).
fn now() -> Duration {
    TIMELINE.get().map(Timeline::now).unwrap_or_default()
}
