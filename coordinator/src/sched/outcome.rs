//! Results and their consequences: completion, failure (with keep-going propagation to
//! dependents), retries, cancellation, and the end of builds.
//!
//! A task's waiters are notified exactly once, when it resolves (done or failed) or when the
//! build gives up on it (a dependency failed, or the build was cancelled); then they are
//! removed from it. A queued task left without waiters is dropped (`Idle`); a running one is
//! cancelled on its worker. A build finishes when it waits for nothing any more.

use super::{BuildStatus, DoneSource, Event, LeaseId, Scheduler, State};

impl Scheduler {
    /// The lease's task is done: every waiting build gets `StageDone`, dependents may become
    /// ready, finished builds get `BuildFinished`. The worker now holds the signature.
    /// Unknown (finished, expired, cancelled) leases: no events.
    pub fn complete(&mut self, lease: LeaseId, now: u64) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(l) = self.release_lease(lease) {
            self.add_holder(l.task, l.worker);
            self.finish_task(l.task, now, &mut events);
        }
        events
    }

    /// A result for `signature` from `worker_id` under a lease this scheduler does not know
    /// (e.g. one granted before a coordinator restart). Accepted while the signature is queued
    /// or running: a lease of another worker on it gets `CancelTask`. A signature unknown,
    /// done, failed or dropped: no events.
    pub fn complete_signature(&mut self, signature: &str, worker_id: &str, now: u64) -> Vec<Event> {
        let mut events = Vec::new();
        let Some(&t) = self.by_sig.get(signature) else {
            return events;
        };
        match self.tasks[t].state.clone() {
            State::Waiting => self.waiting = self.waiting.saturating_sub(1),
            State::Ready => self.unready(t),
            State::Running(lease) => {
                if let Some(l) = self.release_lease(lease) {
                    let runner = self.worker_name(l.worker);
                    if &*runner != worker_id {
                        events.push(Event::CancelTask {
                            worker: runner,
                            lease,
                        });
                    }
                }
            }
            State::Idle | State::Done | State::Failed(_) => return events,
        }
        if let Some(&w) = self.worker_ids.get(worker_id) {
            self.add_holder(t, w);
        }
        self.finish_task(t, now, &mut events);
        events
    }

    /// The lease's dispatch failed. Retryable failures requeue the task while attempts
    /// remain; otherwise the stage fails for every build waiting on it, and so does everything
    /// in those builds that depends on it. Unknown leases: no events.
    pub fn fail(&mut self, lease: LeaseId, now: u64, reason: &str, retryable: bool) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(l) = self.release_lease(lease) {
            if retryable {
                self.retry(l.task, reason.to_string(), now, &mut events);
            } else {
                self.fail_task(l.task, reason.to_string(), &mut events);
            }
        }
        events
    }

    /// Ends a build as `Cancelled`. Its tasks that no other active build waits for are
    /// dropped; running ones get `CancelTask`. Unknown builds: no events.
    pub fn cancel(&mut self, build_id: &str, _now: u64) -> Vec<Event> {
        let mut events = Vec::new();
        let Some(&b) = self.build_ids.get(build_id) else {
            return events;
        };
        let stages = self
            .builds
            .get(b)
            .map(|build| build.stages.clone())
            .unwrap_or_default();
        for t in stages {
            if self.leave(t, b) == Some(true) {
                self.drop_task(t, &mut events);
            }
        }
        self.remove_build(b);
        events.push(Event::BuildFinished {
            build: build_id.into(),
            status: BuildStatus::Cancelled,
        });
        events
    }

    /// One dispatch of `t` ended without a result: requeue it, or fail it when out of attempts.
    pub(super) fn retry(&mut self, t: usize, reason: String, now: u64, events: &mut Vec<Event>) {
        let max_attempts = self.max_attempts();
        let task = &mut self.tasks[t];
        task.reasons.push(reason.clone());
        if task.attempts >= max_attempts {
            let reason = format!(
                "failed after {} attempts: {}",
                task.attempts,
                task.reasons.join("; ")
            );
            self.fail_task(t, reason, events);
            return;
        }
        if task.waiters.is_empty() {
            task.state = State::Idle;
            return;
        }
        events.push(Event::TaskRequeued {
            signature: task.sig.clone(),
            reason,
            attempt: task.attempts.saturating_add(1),
        });
        self.make_ready(t, now);
    }

    /// `t` is done: notify its waiters, release its dependents, finish builds.
    fn finish_task(&mut self, t: usize, now: u64, events: &mut Vec<Event>) {
        let task = &mut self.tasks[t];
        task.state = State::Done;
        let waiters = std::mem::take(&mut task.waiters);
        let owner = task.owner.take();
        let signature = task.sig.clone();
        for &b in &waiters {
            let source = if owner == Some(b) {
                DoneSource::Built
            } else {
                DoneSource::Shared
            };
            if let Some(build) = self.builds.get_mut(b) {
                build.remaining = build.remaining.saturating_sub(1);
                events.push(Event::StageDone {
                    build: build.id.clone(),
                    signature: signature.clone(),
                    source,
                });
            }
        }
        self.release_dependents(t, now);
        for b in waiters {
            self.maybe_finish(b, events);
        }
    }

    /// `t` just became done: its waiting dependents have one dependency less.
    pub(super) fn release_dependents(&mut self, t: usize, now: u64) {
        for i in 0..self.tasks[t].dependents.len() {
            let d = self.tasks[t].dependents[i];
            let dep = &mut self.tasks[d];
            if dep.state != State::Waiting {
                continue;
            }
            dep.pending = dep.pending.saturating_sub(1);
            if dep.pending == 0 {
                self.waiting = self.waiting.saturating_sub(1);
                self.make_ready(d, now);
            }
        }
    }

    /// `t` failed: it fails for each waiter, and so do the waiter's stages depending on it.
    fn fail_task(&mut self, t: usize, reason: String, events: &mut Vec<Event>) {
        match self.tasks[t].state {
            State::Waiting => self.waiting = self.waiting.saturating_sub(1),
            State::Ready => self.unready(t),
            _ => {}
        }
        let task = &mut self.tasks[t];
        task.state = State::Failed(reason.as_str().into());
        task.owner = None;
        let waiters = std::mem::take(&mut task.waiters);
        let root = task.sig.to_string();
        let why = format!("dependency failed: {root}");
        for &b in &waiters {
            self.fail_for(b, t, &reason, events);
            let mut stack: Vec<usize> = self.tasks[t].dependents.iter().rev().copied().collect();
            while let Some(d) = stack.pop() {
                // Not a waiter: not in `b`, or already given up on.
                let Some(empty) = self.leave(d, b) else {
                    continue;
                };
                self.fail_for(b, d, &why, events);
                if empty {
                    self.drop_task(d, events);
                }
                stack.extend(self.tasks[d].dependents.iter().rev().copied());
            }
        }
        for b in waiters {
            self.maybe_finish(b, events);
        }
    }

    /// Records that build `b` gives up on `t` with `reason`.
    fn fail_for(&mut self, b: usize, t: usize, reason: &str, events: &mut Vec<Event>) {
        if let Some(build) = self.builds.get_mut(b) {
            build.remaining = build.remaining.saturating_sub(1);
            build.failed = true;
            events.push(Event::StageFailed {
                build: build.id.clone(),
                signature: self.tasks[t].sig.clone(),
                reason: reason.to_string(),
            });
        }
    }

    /// Removes build `b` from `t`'s waiters, passing ownership on. `None` if `b` was not a
    /// waiter, else whether no waiter is left.
    fn leave(&mut self, t: usize, b: usize) -> Option<bool> {
        let task = &mut self.tasks[t];
        let pos = task.waiters.iter().position(|&w| w == b)?;
        task.waiters.remove(pos);
        if task.owner == Some(b) {
            task.owner = task.waiters.first().copied();
        }
        Some(task.waiters.is_empty())
    }

    /// Nobody waits for `t` any more: drop it if queued, cancel it if running.
    fn drop_task(&mut self, t: usize, events: &mut Vec<Event>) {
        match self.tasks[t].state.clone() {
            State::Waiting => self.waiting = self.waiting.saturating_sub(1),
            State::Ready => self.unready(t),
            State::Running(lease) => {
                if let Some(l) = self.release_lease(lease) {
                    events.push(Event::CancelTask {
                        worker: self.worker_name(l.worker),
                        lease,
                    });
                }
            }
            State::Idle | State::Done | State::Failed(_) => return,
        }
        self.tasks[t].state = State::Idle;
    }

    /// Ends build `b` if it waits for nothing any more.
    pub(super) fn maybe_finish(&mut self, b: usize, events: &mut Vec<Event>) {
        let Some(build) = self.builds.get(b) else {
            return;
        };
        if build.remaining > 0 {
            return;
        }
        let status = if build.failed {
            BuildStatus::Failed
        } else {
            BuildStatus::Succeeded
        };
        events.push(Event::BuildFinished {
            build: build.id.clone(),
            status,
        });
        self.remove_build(b);
    }

    /// Forgets ended build `b`: its stages are no longer listed by it.
    fn remove_build(&mut self, b: usize) {
        let Some(build) = self.builds.remove(b) else {
            return;
        };
        self.build_ids.remove(&*build.id);
        for &t in &build.stages {
            self.tasks[t].listed = self.tasks[t].listed.saturating_sub(1);
        }
    }
}
