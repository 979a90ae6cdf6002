//! The `sim` benchmark: Conveyor's real scheduling core in a discrete-event simulation in
//! virtual time, against the lower bound max(critical path, total work / W), a werf-like
//! policy and FIFO, over a grid of DAG shapes, sizes and worker counts.
//!
//! - `dag`, `shapes`: the workload (images as chains of stages, costs) and its generator;
//! - `schedule`: a policy's result and the check that it is a valid schedule;
//! - `conveyor`: the real `Scheduler` driven as the server drives it;
//! - `baselines`: werf-like and FIFO;
//! - `grid`, `report`, `command`: the runs, their statistics, the outputs.

mod baselines;
mod command;
mod conveyor;
mod dag;
mod grid;
mod report;
mod schedule;
mod shapes;

#[cfg(test)]
mod tests;

pub use baselines::{fifo, werf_like, WERF_SLOTS};
pub use command::{main, Options};
pub use conveyor::{conveyor, ConveyorRun};
pub use dag::{Dag, Image, Stage};
pub use grid::{run, summarize, Cell, Grid, Stat, Summary, GEOMEAN_TARGET, MAX_RATIO_TARGET};
pub use schedule::Schedule;
pub use shapes::{estimates, generate, Shape};
