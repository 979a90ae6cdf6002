//! Conveyor's benchmark harness (`conveyor-bench`): synthetic werf.yaml monorepos and the
//! measurements that compare Conveyor against its baselines. Criterion benchmarks live in
//! `benches/`.

pub mod dispatch;
pub mod docker;
pub mod gen;
pub mod noop;
pub mod plot;
pub mod procs;
pub mod results;
pub mod sim;
