//! The grid: every (shape, stage count, W) cell, each run on `runs` DAGs drawn from
//! consecutive seeds, under the three policies; per cell the median, min and max of each
//! figure over the runs. A run's DAG is the same for every W and policy, so the policies are
//! compared on identical work.
//!
//! Every schedule is checked ([`Schedule::check`]) before its makespan counts.

use anyhow::{anyhow, Result};

use super::baselines::{fifo, werf_like};
use super::conveyor::conveyor;
use super::dag::Dag;
use super::schedule::Schedule;
use super::shapes::{estimates, generate, Shape};

/// What to run.
#[derive(Debug, Clone)]
pub struct Grid {
    pub shapes: Vec<Shape>,
    pub stages: Vec<usize>,
    pub workers: Vec<usize>,
    /// DAGs per (shape, stage count): seeds `seed`, `seed + 1`, ...
    pub runs: usize,
    pub seed: u64,
    /// The scheduler's cost estimates are off by a log-normal factor of this sigma (0: exact).
    pub noise: f64,
}

/// Median, min and max over the runs of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    /// # Panics
    /// On no values.
    pub fn of(values: &[f64]) -> Stat {
        assert!(!values.is_empty(), "a statistic of no runs");
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Stat {
            median,
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// One cell's figures.
#[derive(Debug, Clone)]
pub struct Cell {
    pub shape: Shape,
    pub stages: usize,
    pub workers: usize,
    /// The lower bound in virtual seconds.
    pub bound_s: Stat,
    /// Makespan / bound, per policy.
    pub conveyor: Stat,
    pub werf: Stat,
    pub fifo: Stat,
    /// Conveyor's makespan / the werf-like makespan.
    pub vs_werf: Stat,
    /// Wall milliseconds of one simulation of the real scheduler.
    pub sched_ms: Stat,
    /// Dispatch rounds due to the server's tick alone, per run.
    pub ticks: Stat,
}

/// Per run of one cell.
#[derive(Default)]
struct Samples {
    bound_s: Vec<f64>,
    conveyor: Vec<f64>,
    werf: Vec<f64>,
    fifo: Vec<f64>,
    vs_werf: Vec<f64>,
    sched_ms: Vec<f64>,
    ticks: Vec<f64>,
}

/// Runs the grid; `progress` hears of each cell as it ends.
pub fn run(grid: &Grid, mut progress: impl FnMut(&Cell)) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    for &shape in &grid.shapes {
        for &stages in &grid.stages {
            let dags: Vec<(Dag, Vec<u64>)> = (0..grid.runs.max(1) as u64)
                .map(|r| {
                    let dag = generate(shape, stages, grid.seed + r);
                    let guess = estimates(&dag, grid.noise, grid.seed + r);
                    (dag, guess)
                })
                .collect();
            for &workers in &grid.workers {
                let mut s = Samples::default();
                for (dag, guess) in &dags {
                    sample(dag, guess, workers, &mut s)
                        .map_err(|e| anyhow!("{} {stages} W={workers}: {e}", shape.name()))?;
                }
                let cell = Cell {
                    shape,
                    stages,
                    workers,
                    bound_s: Stat::of(&s.bound_s),
                    conveyor: Stat::of(&s.conveyor),
                    werf: Stat::of(&s.werf),
                    fifo: Stat::of(&s.fifo),
                    vs_werf: Stat::of(&s.vs_werf),
                    sched_ms: Stat::of(&s.sched_ms),
                    ticks: Stat::of(&s.ticks),
                };
                progress(&cell);
                cells.push(cell);
            }
        }
    }
    Ok(cells)
}

fn sample(dag: &Dag, estimates: &[u64], workers: usize, s: &mut Samples) -> Result<()> {
    let bound = dag.bound(workers);
    let checked = |name: &str, schedule: &Schedule| -> Result<f64> {
        schedule
            .check(dag, workers)
            .map_err(|e| anyhow!("{name}: {e}"))?;
        Ok(schedule.makespan(dag) as f64)
    };
    let run = conveyor(dag, estimates, workers)?;
    let ours = checked("conveyor", &run.schedule)?;
    let werf = checked("werf-like", &werf_like(dag, workers))?;
    let fifo = checked("FIFO", &fifo(dag, workers))?;
    // No schedule beats the bound; one that does means the bound or a policy is wrong.
    if let Some((name, m)) = [("conveyor", ours), ("werf-like", werf), ("FIFO", fifo)]
        .into_iter()
        .find(|&(_, m)| m < bound)
    {
        return Err(anyhow!("{name}: makespan {m} below the bound {bound}"));
    }
    s.bound_s.push(bound / 1e3);
    s.conveyor.push(ours / bound);
    s.werf.push(werf / bound);
    s.fifo.push(fifo / bound);
    s.vs_werf.push(ours / werf);
    s.sched_ms.push(run.wall.as_secs_f64() * 1e3);
    s.ticks.push(run.ticks as f64);
    Ok(())
}

/// The figures the targets are about.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// The worst cell's median conveyor makespan / bound, and that cell's index.
    pub max_ratio_to_bound: f64,
    pub worst: usize,
    /// Geometric mean over the cells of the median conveyor / werf-like makespan.
    pub geomean_ratio_to_werf: f64,
}

/// Target: the worst cell within 5% of the bound.
pub const MAX_RATIO_TARGET: f64 = 1.05;
/// Target: on (geometric) average at most 70% of the werf-like makespan.
pub const GEOMEAN_TARGET: f64 = 0.7;

pub fn summarize(cells: &[Cell]) -> Summary {
    let (worst, max) = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.conveyor.median))
        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
    let logs: f64 = cells.iter().map(|c| c.vs_werf.median.ln()).sum();
    Summary {
        max_ratio_to_bound: max,
        worst,
        geomean_ratio_to_werf: (logs / cells.len().max(1) as f64).exp(),
    }
}
