//! What a policy produced: when and where each stage ran, and a check that it is a schedule
//! at all (dependencies first, one stage at a time per worker), so no policy is credited with
//! a makespan it could not have.

use super::dag::Dag;

/// When (virtual ms) and on which worker each stage started; it ran for its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub start: Vec<u64>,
    pub worker: Vec<usize>,
}

impl Schedule {
    /// An empty schedule for `stages` stages, to fill in.
    pub fn new(stages: usize) -> Self {
        Schedule {
            start: vec![0; stages],
            worker: vec![0; stages],
        }
    }

    /// When the last stage finished.
    pub fn makespan(&self, dag: &Dag) -> u64 {
        (0..dag.stages.len())
            .map(|i| self.finish(dag, i))
            .max()
            .unwrap_or(0)
    }

    pub fn finish(&self, dag: &Dag, stage: usize) -> u64 {
        self.start[stage] + dag.stages[stage].cost
    }

    /// Checks that every stage starts after its dependencies finish, runs on one of `workers`
    /// workers, and that no worker runs two stages at once.
    pub fn check(&self, dag: &Dag, workers: usize) -> Result<(), String> {
        let n = dag.stages.len();
        if self.start.len() != n || self.worker.len() != n {
            return Err(format!("{} stages, {} starts", n, self.start.len()));
        }
        for (i, stage) in dag.stages.iter().enumerate() {
            if self.worker[i] >= workers {
                return Err(format!("stage {i} on worker {}", self.worker[i]));
            }
            if let Some(&d) = stage
                .deps
                .iter()
                .find(|&&d| self.finish(dag, d) > self.start[i])
            {
                return Err(format!(
                    "stage {i} starts at {} before its dependency {d} finishes at {}",
                    self.start[i],
                    self.finish(dag, d)
                ));
            }
        }
        let mut runs: Vec<(usize, u64, u64, usize)> = (0..n)
            .map(|i| (self.worker[i], self.start[i], self.finish(dag, i), i))
            .collect();
        runs.sort_unstable();
        for pair in runs.windows(2) {
            let (w, _, end, a) = pair[0];
            let (w2, start, _, b) = pair[1];
            if w == w2 && start < end {
                return Err(format!("stages {a} and {b} overlap on worker {w}"));
            }
        }
        Ok(())
    }
}
