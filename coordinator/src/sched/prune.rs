//! Forgetting tasks that no build needs any more, so a coordinator that runs for months keeps
//! the tasks of its recent builds, not one for every signature it ever saw.

use foldhash::{HashSet, HashSetExt};

use std::sync::Arc;

use super::{Scheduler, State, Task, TaskKind};

impl Scheduler {
    /// Removes the tasks of `signatures` that no active build lists (so nothing waits for them
    /// or has them in flight), together: a task goes only if every task that depends on it goes too (or
    /// is gone already), so no remaining task refers to a removed one. Returns how many went.
    ///
    /// The caller passes signatures no build it keeps uses any more; a later build that needs
    /// one makes its task afresh (from the store's records: a recorded stage comes back as
    /// cached). Which workers hold a removed task is forgotten with it, except what a worker
    /// said it holds when it connected: a re-made task gets those holders back, not the
    /// workers that built or pulled it since (until they reconnect).
    pub fn prune<'a>(&mut self, signatures: impl IntoIterator<Item = &'a str>) -> usize {
        let mut gone: HashSet<usize> = signatures
            .into_iter()
            .filter_map(|s| self.by_sig.get(s).copied())
            .filter(|&t| self.tasks[t].listed == 0)
            .collect();
        if gone.is_empty() {
            return 0;
        }
        // Keep any task that a kept task depends on, and then that task's dependencies in turn.
        let mut keep: Vec<usize> = gone
            .iter()
            .copied()
            .filter(|&t| self.tasks[t].dependents.iter().any(|d| !gone.contains(d)))
            .collect();
        while let Some(t) = keep.pop() {
            if gone.remove(&t) {
                keep.extend(self.tasks[t].deps.iter().filter(|d| gone.contains(d)));
            }
        }
        // Each list that names removed tasks is filtered once, not once per removed task.
        let mut touched: HashSet<usize> = HashSet::new();
        let mut holders: HashSet<usize> = HashSet::new();
        for &t in &gone {
            let task = std::mem::replace(&mut self.tasks[t], Task::vacant("".into()));
            self.by_sig.remove(&task.sig);
            touched.extend(task.deps.iter().filter(|d| !gone.contains(d)));
            holders.extend(task.holders.iter().copied());
            self.free.push(t);
        }
        for d in touched {
            self.tasks[d].dependents.retain(|x| !gone.contains(x));
        }
        for w in holders {
            if let Some(worker) = self.workers.get_mut(w) {
                worker.held.retain(|h| !gone.contains(h));
            }
        }
        gone.len()
    }
}

impl Task {
    /// A task of `sig` with nothing known yet; with an empty signature, what a removed task's
    /// slot holds until a new task takes it.
    pub(super) fn vacant(sig: Arc<str>) -> Task {
        Task {
            sig,
            label: "".into(),
            kind: TaskKind::Build,
            cost: 0,
            prio: 0,
            deps: Box::new([]),
            dependents: Vec::new(),
            waiters: Vec::new(),
            owner: None,
            holders: Vec::new(),
            state: State::Idle,
            pending: 0,
            attempts: 0,
            listed: 0,
            ready_since: 0,
            reasons: Vec::new(),
        }
    }
}
