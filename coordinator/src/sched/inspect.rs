//! Read-only views of the scheduler for tests, metrics and the server's status calls.
//! Nothing here changes state; lists come out in a deterministic order.

use super::{LeaseId, LeaseInfo, Scheduler, SignatureState, State};

impl Scheduler {
    /// Where `signature` stands, or `None` if the scheduler has never seen it.
    pub fn signature_state(&self, signature: &str) -> Option<SignatureState> {
        let &t = self.by_sig.get(signature)?;
        Some(match &self.tasks[t].state {
            State::Idle => SignatureState::Dropped,
            State::Waiting => SignatureState::Waiting,
            State::Ready => SignatureState::Ready,
            State::Running(lease) => {
                let (worker, attempt) = self
                    .leases
                    .get(lease)
                    .map(|l| (self.worker_name(l.worker).to_string(), l.attempt))
                    .unwrap_or_default();
                SignatureState::Running {
                    lease: *lease,
                    worker,
                    attempt,
                }
            }
            State::Done => SignatureState::Done,
            State::Failed(reason) => SignatureState::Failed {
                reason: reason.to_string(),
            },
        })
    }

    /// Tasks queued and not running (waiting for dependencies or ready).
    pub fn queued_count(&self) -> usize {
        self.waiting + self.ready.len()
    }

    /// Tasks ready to dispatch.
    pub fn ready_count(&self) -> usize {
        self.ready.len()
    }

    /// Running leases, by lease id.
    pub fn running_leases(&self) -> Vec<LeaseInfo> {
        self.leases
            .iter()
            .map(|(&lease, l)| LeaseInfo {
                lease,
                signature: self.tasks[l.task].sig.to_string(),
                worker: self.worker_name(l.worker).to_string(),
                attempt: l.attempt,
                deadline: l.deadline,
            })
            .collect()
    }

    /// The lease of one running dispatch, if it is still running.
    pub fn lease(&self, lease: LeaseId) -> Option<LeaseInfo> {
        let l = self.leases.get(&lease)?;
        Some(LeaseInfo {
            lease,
            signature: self.tasks[l.task].sig.to_string(),
            worker: self.worker_name(l.worker).to_string(),
            attempt: l.attempt,
            deadline: l.deadline,
        })
    }

    /// Ids of the builds not finished yet, sorted.
    pub fn active_builds(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.build_ids.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Stages a build still waits for, or `None` if it is not active.
    pub fn build_remaining(&self, build_id: &str) -> Option<usize> {
        let &b = self.build_ids.get(build_id)?;
        self.builds.get(b).map(|b| b.remaining)
    }

    /// Connected worker ids, sorted.
    pub fn workers(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.worker_ids.keys().cloned().collect();
        ids.sort();
        ids
    }
}
