//! Conveyor's policy: the real [`Scheduler`] driven by a discrete-event simulation in virtual
//! time, the way the server's state task drives it.
//!
//! The DAG goes in as one build whose stage specs carry cost estimates (the server takes them
//! from the cost history of earlier builds: `server::tasks::build_work`): the true costs, or
//! noisy ones to see how much the order depends on the history being right. W workers connect
//! with one slot each and hold nothing. Then, as the server does after every batch of
//! messages (`server/state.rs`, `State::run`), each event time ends with a dispatch round:
//! every worker, in connection order, takes assignments from `next_ready` until it has none.
//! Completions that fall on the same instant are one batch, reported in worker order before
//! that round. The server also dispatches on its tick (`ServerConfig::tick`, 200 ms): that is
//! when a task the locality rule kept for its holder goes to another worker once the holder
//! is busy or the wait is over, so while a worker idles and a task is ready, the simulation
//! steps to the next tick too. Leases never expire here: real workers heartbeat them.
//!
//! Locality has no price in this model: a stage costs the same on every worker (no parent
//! pulled from the registry), so the rule that a worker takes a task whose parent it holds
//! before a more urgent one can only lose time here.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use conveyor_coordinator::sched::{BuildStatus, Event, LeaseId, Scheduler, StageSpec, TaskKind};
use conveyor_coordinator::server::ServerConfig;

use super::dag::Dag;
use super::schedule::Schedule;

/// One simulated build.
#[derive(Debug, Clone)]
pub struct ConveyorRun {
    pub schedule: Schedule,
    /// Dispatch rounds that were due to the tick only (no completion at that instant).
    pub ticks: u64,
    /// Wall time of the whole simulation (the scheduler's calls and the loop around them).
    pub wall: Duration,
}

/// Runs `dag` on `workers` single-slot workers under the server's default configuration,
/// telling the scheduler that stage `i` costs `estimates[i]` (it runs for its true cost).
pub fn conveyor(dag: &Dag, estimates: &[u64], workers: usize) -> Result<ConveyorRun> {
    if estimates.len() != dag.stages.len() {
        bail!(
            "{} estimates for {} stages",
            estimates.len(),
            dag.stages.len()
        );
    }
    let config = ServerConfig::default();
    let tick = (config.tick.as_millis() as u64).max(1);
    let started = Instant::now();
    let mut sched = Scheduler::new(config.sched);
    let sig = |i: usize| format!("s{i}");
    let specs: Vec<StageSpec> = dag
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| StageSpec {
            signature: sig(i),
            deps: s.deps.iter().map(|&d| sig(d)).collect(),
            cached: false,
            cost: estimates[i],
            kind: if s.pull {
                TaskKind::Pull
            } else {
                TaskKind::Build
            },
            label: dag.label(i),
        })
        .collect();
    let mut finished = false;
    let mut note = |events: Vec<Event>| {
        for e in events {
            if let Event::BuildFinished { status, .. } = e {
                finished = status == BuildStatus::Succeeded;
            }
        }
    };
    note(sched.add_build("sim", specs, 0)?);
    let names: Vec<String> = (0..workers.max(1)).map(|w| format!("w{w:03}")).collect();
    for name in &names {
        sched.worker_connected(name, 1, Vec::new(), 0);
    }
    let n = dag.stages.len();
    let mut schedule = Schedule::new(n);
    // What each worker runs: (lease, stage).
    let mut busy: Vec<Option<(LeaseId, usize)>> = vec![None; names.len()];
    // (finish, worker)
    let mut running: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut done = 0usize;
    let mut ticks = 0u64;
    let mut now = 0u64;
    loop {
        for (w, name) in names.iter().enumerate() {
            while let Some(a) = sched.next_ready(name, now) {
                let stage: usize = a.signature[1..].parse()?;
                if busy[w].is_some() {
                    bail!("`{name}` got `{}` while busy with one slot", a.signature);
                }
                schedule.start[stage] = now;
                schedule.worker[stage] = w;
                busy[w] = Some((a.lease, stage));
                running.push(Reverse((now + dag.stages[stage].cost, w)));
            }
        }
        if done == n {
            break;
        }
        let next_completion = running.peek().map(|Reverse((t, _))| *t);
        let idle = busy.iter().any(Option::is_none);
        let next_tick = (idle && sched.ready_count() > 0).then(|| (now / tick + 1) * tick);
        now = match (next_completion, next_tick) {
            (Some(c), Some(t)) if t < c => {
                ticks += 1;
                t
            }
            (Some(c), _) => c,
            (None, Some(t)) => {
                ticks += 1;
                t
            }
            (None, None) => bail!("stuck at {now} ms with {done} of {n} stages done"),
        };
        while let Some(&Reverse((t, w))) = running.peek() {
            if t != now {
                break;
            }
            running.pop();
            if let Some((lease, _)) = busy[w].take() {
                note(sched.complete(lease, now));
                done += 1;
            }
        }
    }
    if !finished {
        bail!("the build did not finish as succeeded");
    }
    Ok(ConveyorRun {
        schedule,
        ticks,
        wall: started.elapsed(),
    })
}
