//! Workers, the ready set, locality and leases: who gets which ready task, and what happens
//! when a lease runs out or its worker goes away.
//!
//! A worker asking for work gets, in order of preference:
//! 1. a `Pull` that is the best ready task it may take, if its priority is at least that of
//!    the worker's best local task (pulls are never local: they have no dependencies);
//! 2. its best ready task one of whose dependencies it holds (its `local` set), whatever
//!    the priority of non-local tasks: reusing a parent beats fetching it;
//! 3. the best ready task not kept for another worker: a task is kept for a connected
//!    worker with a free slot that holds one of its dependencies, for `locality_wait_ms`
//!    after the task became ready.
//!
//! Cost: the local pick is O(log n); finding the best task not kept for another worker
//! scans past the kept ones, so it is linear in the number of ready tasks kept for others.
//!
//! Lease expiry and disconnection count as a failed attempt (`retry`); so does a retryable
//! failure reported by the worker (see `outcome`).

use std::collections::BTreeSet;

use foldhash::{HashSet, HashSetExt};

use super::{Assignment, Event, Lease, LeaseId, ReadyKey, Scheduler, State, TaskKind, Worker};

impl Scheduler {
    /// Registers a worker with `slots` concurrent tasks and the signatures it holds locally.
    /// A worker already connected keeps its leases; its slots are replaced and `holds` added.
    pub fn worker_connected<I>(&mut self, worker_id: &str, slots: u32, holds: I, _now: u64)
    where
        I: IntoIterator<Item = String>,
    {
        let w = match self.worker_ids.get(worker_id) {
            Some(&w) => w,
            None => {
                let w = self.workers.insert(Worker {
                    id: worker_id.into(),
                    slots,
                    running: BTreeSet::new(),
                    holds: HashSet::new(),
                    held: Vec::new(),
                    local: BTreeSet::new(),
                });
                self.worker_ids.insert(worker_id.to_string(), w);
                w
            }
        };
        let mut known = Vec::new();
        if let Some(worker) = self.workers.get_mut(w) {
            worker.slots = slots;
            for sig in holds {
                if let Some(&t) = self.by_sig.get(sig.as_str()) {
                    known.push(t);
                }
                worker.holds.insert(sig);
            }
        }
        for t in known {
            self.add_holder(t, w);
        }
    }

    /// Removes a worker: each of its running tasks is requeued (one attempt used), or fails
    /// if it has no attempts left. Unknown workers: no events.
    pub fn worker_disconnected(&mut self, worker_id: &str, now: u64) -> Vec<Event> {
        let mut events = Vec::new();
        let Some(w) = self.worker_ids.remove(worker_id) else {
            return events;
        };
        let Some(worker) = self.workers.remove(w) else {
            return events;
        };
        for &t in &worker.held {
            self.tasks[t].holders.retain(|&h| h != w);
        }
        for lease in worker.running {
            if let Some(l) = self.leases.remove(&lease) {
                let reason = format!("worker {worker_id} disconnected");
                self.retry(l.task, reason, now, &mut events);
            }
        }
        events
    }

    /// The next task for `worker_id`, if it has a free slot and something suits it.
    /// Unknown workers get `None`. Emit [`Assignment::started_event`] for each assignment.
    pub fn next_ready(&mut self, worker_id: &str, now: u64) -> Option<Assignment> {
        let w = *self.worker_ids.get(worker_id)?;
        if !self.has_free_slot(w) {
            return None;
        }
        let worker = self.workers.get(w)?;
        let worker_id = worker.id.clone();
        let local = worker.local.first();
        let global = self
            .ready
            .iter()
            .find(|key| !self.kept_for_other(key.task, w, now));
        let pick = match (local, global) {
            (Some(l), Some(g)) if g.kind == TaskKind::Pull && g.prio <= l.prio => g.task,
            (Some(l), _) => l.task,
            (None, Some(g)) => g.task,
            (None, None) => return None,
        };
        self.unready(pick);
        let attempt = self.tasks[pick].attempts.saturating_add(1);
        let lease = LeaseId(self.next_lease);
        self.next_lease += 1;
        let deadline = now.saturating_add(self.config.lease_ttl_ms);
        let task = &mut self.tasks[pick];
        task.attempts = attempt;
        task.state = State::Running(lease);
        let assignment = Assignment {
            lease,
            signature: task.sig.clone(),
            kind: task.kind,
            attempt,
            deadline,
            worker: worker_id,
            label: task.label.clone(),
        };
        self.leases.insert(
            lease,
            Lease {
                task: pick,
                worker: w,
                deadline,
                attempt,
            },
        );
        if let Some(worker) = self.workers.get_mut(w) {
            worker.running.insert(lease);
        }
        Some(assignment)
    }

    /// Extends a lease to `now + lease_ttl_ms` (never shortens it). False for unknown leases.
    pub fn heartbeat(&mut self, lease: LeaseId, now: u64) -> bool {
        let ttl = self.config.lease_ttl_ms;
        match self.leases.get_mut(&lease) {
            Some(l) => {
                l.deadline = l.deadline.max(now.saturating_add(ttl));
                true
            }
            None => false,
        }
    }

    /// Requeues (or fails, when out of attempts) every task whose lease deadline is at or
    /// before `now`, in lease order.
    pub fn expire(&mut self, now: u64) -> Vec<Event> {
        let expired: Vec<LeaseId> = self
            .leases
            .iter()
            .filter(|(_, l)| l.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        let mut events = Vec::new();
        for lease in expired {
            if let Some(l) = self.release_lease(lease) {
                self.retry(l.task, "lease expired".to_string(), now, &mut events);
            }
        }
        events
    }

    fn has_free_slot(&self, w: usize) -> bool {
        self.workers
            .get(w)
            .is_some_and(|worker| worker.running.len() < worker.slots as usize)
    }

    /// Whether ready task `t` is still kept for a worker other than `w`.
    fn kept_for_other(&self, t: usize, w: usize, now: u64) -> bool {
        let task = &self.tasks[t];
        if now
            >= task
                .ready_since
                .saturating_add(self.config.locality_wait_ms)
        {
            return false;
        }
        task.deps.iter().any(|&d| {
            self.tasks[d]
                .holders
                .iter()
                .any(|&h| h != w && self.has_free_slot(h))
        })
    }

    /// Removes a lease from the table and its worker; the task's state is the caller's.
    pub(super) fn release_lease(&mut self, lease: LeaseId) -> Option<Lease> {
        let l = self.leases.remove(&lease)?;
        if let Some(worker) = self.workers.get_mut(l.worker) {
            worker.running.remove(&lease);
        }
        Some(l)
    }

    /// Puts task `t` in the ready set and in the local set of every holder of a dependency.
    pub(super) fn make_ready(&mut self, t: usize, now: u64) {
        self.tasks[t].state = State::Ready;
        self.tasks[t].ready_since = now;
        let key = self.key(t);
        self.for_each_local(t, |local| {
            local.insert(key.clone());
        });
        self.ready.insert(key);
    }

    /// Takes task `t` out of the ready sets if it is ready; its new state is the caller's.
    pub(super) fn unready(&mut self, t: usize) {
        if self.tasks[t].state != State::Ready {
            return;
        }
        let key = self.key(t);
        self.for_each_local(t, |local| {
            local.remove(&key);
        });
        self.ready.remove(&key);
    }

    /// Sets a task's priority, re-keying it if it is ready.
    pub(super) fn set_prio(&mut self, t: usize, prio: u64) {
        if self.tasks[t].state == State::Ready {
            let since = self.tasks[t].ready_since;
            self.unready(t);
            self.tasks[t].prio = prio;
            self.make_ready(t, since);
        } else {
            self.tasks[t].prio = prio;
        }
    }

    /// Records that worker `w` holds task `t`'s signature.
    pub(super) fn add_holder(&mut self, t: usize, w: usize) {
        if self.tasks[t].holders.contains(&w) {
            return;
        }
        self.tasks[t].holders.push(w);
        let ready: Vec<ReadyKey> = self.tasks[t]
            .dependents
            .iter()
            .filter(|&&d| self.tasks[d].state == State::Ready)
            .map(|&d| self.key(d))
            .collect();
        // Not added to `holds`: that is for signatures with no task yet, and this one has its
        // task (if it is pruned, this holder is forgotten until the worker reconnects).
        if let Some(worker) = self.workers.get_mut(w) {
            worker.held.push(t);
            worker.local.extend(ready);
        }
    }

    fn for_each_local(&mut self, t: usize, mut f: impl FnMut(&mut BTreeSet<ReadyKey>)) {
        let Scheduler { tasks, workers, .. } = self;
        for &d in tasks[t].deps.iter() {
            for &h in &tasks[d].holders {
                if let Some(worker) = workers.get_mut(h) {
                    f(&mut worker.local);
                }
            }
        }
    }
}
