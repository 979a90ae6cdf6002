//! The coordinator's gRPC services (`conveyor.v1`). Today: `Builds.Render`. Submitting and
//! watching builds, and the worker stream, come with the scheduler.
//!
//! Handlers never block the async runtime: rendering runs on the blocking pool (the template
//! engine's values are single-threaded `Rc`s and the work is CPU-bound).

mod builds;

pub use builds::BuildsService;
