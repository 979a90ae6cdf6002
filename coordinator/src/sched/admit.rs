//! Admitting a build: validation, merging its stages into the shared task table, priorities.
//!
//! Validation happens before any change, so a refused build leaves the scheduler as it was.
//! Stages are then visited dependencies first (Kahn's order, ties in input order), so events
//! are deterministic and a stage is queued after the stages it needs.
//!
//! A signature the scheduler already knows keeps its first dependencies, cost and kind
//! (signatures are content-addressed, so they agree); a build that says such a signature is
//! `cached` while another build has it queued or running waits for that task instead.

use std::collections::VecDeque;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use super::{Build, Event, SchedError, Scheduler, StageSpec, State, Task};

impl Scheduler {
    /// Adds a build and queues what it needs. Emits, in dependencies-first order, one
    /// `StageQueued` or `StageCached` per distinct stage, then `BuildFinished` if every stage
    /// was already done.
    ///
    /// Stages listed twice under one signature are merged (dependencies united, cached if
    /// either is, the larger cost, the first kind and label).
    pub fn add_build(
        &mut self,
        build_id: &str,
        stages: Vec<StageSpec>,
        now: u64,
    ) -> Result<Vec<Event>, SchedError> {
        if self.build_ids.contains_key(build_id) {
            return Err(SchedError::DuplicateBuild(build_id.to_string()));
        }
        let specs = merge(stages);
        let order = self.validate(&specs)?;

        // Create unknown tasks and their edges, dependencies first.
        let mut ids = vec![0usize; specs.len()];
        for &i in &order {
            let spec = &specs[i];
            if let Some(&t) = self.by_sig.get(spec.signature.as_str()) {
                ids[i] = t;
                continue;
            }
            let deps: Box<[usize]> = spec
                .deps
                .iter()
                .filter_map(|d| self.by_sig.get(d.as_str()).copied())
                .collect();
            let t = self.free.pop().unwrap_or(self.tasks.len());
            let sig: Arc<str> = Arc::from(spec.signature.as_str());
            for &d in deps.iter() {
                self.tasks[d].dependents.push(t);
            }
            let task = Task {
                label: spec.label.as_str().into(),
                kind: spec.kind,
                cost: spec.cost.max(1),
                deps,
                ready_since: now,
                ..Task::vacant(sig.clone())
            };
            if t == self.tasks.len() {
                self.tasks.push(task);
            } else {
                self.tasks[t] = task;
            }
            self.by_sig.insert(sig, t);
            ids[i] = t;
            let holders: Vec<usize> = self
                .workers
                .items
                .iter()
                .enumerate()
                .filter(|(_, w)| {
                    w.as_ref()
                        .is_some_and(|w| w.holds.contains(&spec.signature))
                })
                .map(|(w, _)| w)
                .collect();
            for w in holders {
                self.add_holder(t, w);
            }
        }

        // Priorities, dependents first, one pass: every not-done ancestor of a stage is in
        // the build (closure), so no task outside it gains a longer path. A task already ready
        // is re-keyed.
        for &i in order.iter().rev() {
            let t = ids[i];
            let will_be_done =
                self.tasks[t].state == State::Done || (specs[i].cached && !self.is_pending(t));
            let prio = if will_be_done {
                0
            } else {
                self.path_through(t)
            };
            if prio != self.tasks[t].prio {
                self.set_prio(t, prio);
            }
        }
        let b = self.builds.insert(Build {
            id: build_id.into(),
            stages: order.iter().map(|&i| ids[i]).collect(),
            remaining: 0,
            failed: false,
        });
        self.build_ids.insert(build_id.to_string(), b);
        let mut events = Vec::new();
        for &i in &order {
            self.tasks[ids[i]].listed += 1;
            self.activate(ids[i], b, specs[i].cached, now, &mut events);
        }
        self.maybe_finish(b, &mut events);
        Ok(events)
    }

    /// Forgets that `signature` is done because its image turned out to be gone from the
    /// registry: the next build that needs it queues it afresh. A task stays done while a
    /// dependent in flight (waiting, ready or running) counts on it. Returns whether it was
    /// forgotten.
    pub fn forget(&mut self, signature: &str) -> bool {
        let Some(&t) = self.by_sig.get(signature) else {
            return false;
        };
        let relied_on = self.tasks[t].dependents.iter().any(|&d| {
            matches!(
                self.tasks[d].state,
                State::Waiting | State::Ready | State::Running(_)
            )
        });
        if self.tasks[t].state != State::Done || relied_on {
            return false;
        }
        self.tasks[t].state = State::Idle;
        true
    }

    /// Checks dependencies and cycles; returns the indices of `specs` dependencies first.
    fn validate(&self, specs: &[StageSpec]) -> Result<Vec<usize>, SchedError> {
        let index: HashMap<&str, usize> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.signature.as_str(), i))
            .collect();
        let mut indegree = vec![0usize; specs.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); specs.len()];
        for (i, spec) in specs.iter().enumerate() {
            for dep in &spec.deps {
                if let Some(&j) = index.get(dep.as_str()) {
                    indegree[i] += 1;
                    dependents[j].push(i);
                } else {
                    let done = self
                        .by_sig
                        .get(dep.as_str())
                        .is_some_and(|&t| self.tasks[t].state == State::Done);
                    if !done {
                        return Err(SchedError::UnknownDependency {
                            stage: spec.signature.clone(),
                            dep: dep.clone(),
                        });
                    }
                }
            }
        }
        let mut queue: VecDeque<usize> = (0..specs.len()).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(specs.len());
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &d in &dependents[i] {
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    queue.push_back(d);
                }
            }
        }
        if order.len() < specs.len() {
            let stuck = (0..specs.len()).find(|&i| indegree[i] > 0).unwrap_or(0);
            return Err(SchedError::DependencyCycle {
                signature: specs
                    .get(stuck)
                    .map(|s| s.signature.clone())
                    .unwrap_or_default(),
            });
        }
        Ok(order)
    }

    /// Whether `signature` is waiting, ready or running for some build.
    pub fn is_pending_signature(&self, signature: &str) -> bool {
        self.by_sig
            .get(signature)
            .is_some_and(|&t| self.is_pending(t))
    }

    fn is_pending(&self, t: usize) -> bool {
        matches!(
            self.tasks[t].state,
            State::Waiting | State::Ready | State::Running(_)
        )
    }

    /// `cost` plus the longest priority among dependents that are not done.
    fn path_through(&self, t: usize) -> u64 {
        let task = &self.tasks[t];
        let longest = task
            .dependents
            .iter()
            .filter(|&&d| self.tasks[d].state != State::Done)
            .map(|&d| self.tasks[d].prio)
            .max()
            .unwrap_or(0);
        task.cost.saturating_add(longest)
    }

    /// Makes build `b` wait for task `t`, queueing it if nothing else has.
    fn activate(&mut self, t: usize, b: usize, cached: bool, now: u64, events: &mut Vec<Event>) {
        let build = self.build_name(b);
        let signature = self.tasks[t].sig.clone();
        if self.is_pending(t) {
            let task = &mut self.tasks[t];
            task.waiters.push(b);
            task.owner.get_or_insert(b);
            self.count_stage(b);
            events.push(Event::StageQueued { build, signature });
            return;
        }
        if self.tasks[t].state == State::Done {
            events.push(Event::StageCached { build, signature });
            return;
        }
        // Idle or failed: queue it afresh, or record it as cached.
        if cached {
            self.tasks[t].state = State::Done;
            self.release_dependents(t, now);
            events.push(Event::StageCached { build, signature });
            return;
        }
        let pending = self.tasks[t]
            .deps
            .iter()
            .filter(|&&d| self.tasks[d].state != State::Done)
            .count();
        let task = &mut self.tasks[t];
        task.waiters = vec![b];
        task.owner = Some(b);
        task.attempts = 0;
        task.reasons.clear();
        task.pending = pending;
        if pending == 0 {
            self.make_ready(t, now);
        } else {
            self.tasks[t].state = State::Waiting;
            self.waiting += 1;
        }
        self.count_stage(b);
        events.push(Event::StageQueued { build, signature });
    }

    fn count_stage(&mut self, b: usize) {
        if let Some(build) = self.builds.get_mut(b) {
            build.remaining += 1;
        }
    }
}

/// Merges stages listed twice under one signature, keeping first-appearance order.
fn merge(stages: Vec<StageSpec>) -> Vec<StageSpec> {
    let mut out: Vec<StageSpec> = Vec::with_capacity(stages.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(stages.len());
    for spec in stages {
        if let Some(&i) = index.get(&spec.signature) {
            let kept = &mut out[i];
            for dep in spec.deps {
                if !kept.deps.contains(&dep) {
                    kept.deps.push(dep);
                }
            }
            kept.cached |= spec.cached;
            kept.cost = kept.cost.max(spec.cost);
        } else {
            index.insert(spec.signature.clone(), out.len());
            let mut spec = spec;
            let mut seen = Vec::with_capacity(spec.deps.len());
            spec.deps.retain(|d| {
                let new = !seen.contains(d);
                if new {
                    seen.push(d.clone());
                }
                new
            });
            out.push(spec);
        }
    }
    out
}
