//! The two policies Conveyor is compared with, computed directly (no scheduler state).
//!
//! - werf-like: how `werf build` parallelises (`--parallel-tasks-limit`, 5 by default): images
//!   are grouped in dependency waves (wave k holds the images whose dependencies are all in
//!   waves below k); a wave is split into static contiguous blocks over min(W, 5) slots, a
//!   slot builds its block's images one after another, each image's stages in sequence, and
//!   the next wave starts when the whole wave has finished.
//! - FIFO: a list scheduler that knows nothing of costs: ready stages are dispatched in the
//!   order they became ready (ties by stage index) to the lowest-numbered idle worker.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use super::dag::Dag;
use super::schedule::Schedule;

/// werf's default `--parallel-tasks-limit`.
pub const WERF_SLOTS: usize = 5;

/// The werf-like schedule on `workers` workers (at most [`WERF_SLOTS`] used).
pub fn werf_like(dag: &Dag, workers: usize) -> Schedule {
    let mut wave_of = vec![0usize; dag.images.len()];
    for (i, image) in dag.images.iter().enumerate() {
        wave_of[i] = image
            .deps
            .iter()
            .map(|&d| wave_of[d] + 1)
            .max()
            .unwrap_or(0);
    }
    let waves = wave_of.iter().max().map_or(0, |&w| w + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); waves];
    for (i, &w) in wave_of.iter().enumerate() {
        members[w].push(i);
    }
    let slots = workers.clamp(1, WERF_SLOTS);
    let mut schedule = Schedule::new(dag.stages.len());
    let mut wave_start = 0u64;
    for images in members {
        let n = images.len();
        let used = slots.min(n);
        let mut wave_end = wave_start;
        for slot in 0..used {
            let mut t = wave_start;
            for &image in &images[slot * n / used..(slot + 1) * n / used] {
                for s in dag.images[image].stages.clone() {
                    schedule.start[s] = t;
                    schedule.worker[s] = slot;
                    t += dag.stages[s].cost;
                }
            }
            wave_end = wave_end.max(t);
        }
        wave_start = wave_end;
    }
    schedule
}

/// The FIFO list schedule on `workers` workers.
pub fn fifo(dag: &Dag, workers: usize) -> Schedule {
    let n = dag.stages.len();
    let dependents = dag.dependents();
    let mut pending: Vec<usize> = dag.stages.iter().map(|s| s.deps.len()).collect();
    // (time it became ready, stage)
    let mut ready: BinaryHeap<Reverse<(u64, usize)>> = (0..n)
        .filter(|&i| pending[i] == 0)
        .map(|i| Reverse((0, i)))
        .collect();
    // (finish, worker, stage)
    let mut running: BinaryHeap<Reverse<(u64, usize, usize)>> = BinaryHeap::new();
    let mut idle: BTreeSet<usize> = (0..workers.max(1)).collect();
    let mut schedule = Schedule::new(n);
    let mut now = 0u64;
    loop {
        while !idle.is_empty() {
            let Some(Reverse((_, stage))) = ready.pop() else {
                break;
            };
            let Some(worker) = idle.pop_first() else {
                break;
            };
            schedule.start[stage] = now;
            schedule.worker[stage] = worker;
            running.push(Reverse((now + dag.stages[stage].cost, worker, stage)));
        }
        let Some(&Reverse((t, _, _))) = running.peek() else {
            break;
        };
        now = t;
        while let Some(&Reverse((t, worker, stage))) = running.peek() {
            if t != now {
                break;
            }
            running.pop();
            idle.insert(worker);
            for &d in &dependents[stage] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.push(Reverse((now, d)));
                }
            }
        }
    }
    schedule
}
