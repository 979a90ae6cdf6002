//! Running the group commit below the priority of dispatch.
//!
//! On a busy machine the coordinator's threads compete for few cores; a group commit (encoding
//! stage records, RocksDB's memtable and log) is work that may wait, while handing ready stages
//! to workers should not. [`lowered`] runs a closure below the rest of the process and puts the
//! calling thread back afterwards:
//!
//! - [`Below::Idle`]: Linux's `SCHED_IDLE` policy, for commits of stage records only (nobody
//!   waits for them: dependents were released when the results came). The thread runs when a
//!   core has nothing else to do, mostly: once it has a core it may keep it for a time slice,
//!   so lowered work goes in short steps with a [`pause`] between them.
//! - [`Below::Nice`]: the nice value raised by [`NICE`], for commits that end builds (their
//!   watchers wait for the write): they still yield to dispatch, but get a share of the CPU.
//!   One commit runs at a time, so such a commit (and any other synced write, which RocksDB
//!   queues behind the one in progress) can still wait behind an idle commit in flight, for
//!   as long as both cores stay busy: dispatch bursts are short, and the measured gain below
//!   was taken as worth that.
//!
//! Putting a thread back needs the right to raise its priority again (root, `CAP_SYS_NICE`,
//! or a high enough `RLIMIT_NICE`), so a throwaway thread tries each round trip once; without
//! that right, and off Linux, closures run as they are (a blocking-pool thread left lowered
//! would slow whatever runs on it next). An idle commit that cannot go idle goes nice.
//!
//! Measured with `conveyor-bench dispatch --images 2000 --workers 4 --runs 7` on 2 cores:
//! nice +10 against nothing, 3 interleaved pairs: p99 dispatch latency 10.3 → 8.6 ms
//! (medians), throughput about +15%. `SCHED_IDLE` against nice +10 for stage-only commits,
//! 8 interleaved pairs: p50 lower in all 8 (about 2.2 → 1.8 ms), p99 lower in 7 (medians of
//! the pairs 6.3 → 5.7 ms), throughput the same.

/// Gives the core away between steps of lowered work. Lowering alone does not keep such work
/// from holding a core while dispatch waits: under Linux's EEVDF scheduler (6.6 and later) a
/// `SCHED_IDLE` or niced thread that a core picks (say, when a dispatch thread was preempted
/// for a moment) runs until its time slice ends, 2 ms and more, with a dispatch thread
/// runnable beside it. That was the dispatch benchmark's longest stall (seen with
/// `perf sched`). A thread that yields goes behind the waiting ones, so lowered work done in
/// steps of a few hundred microseconds holds a wanted core for one step at most.
pub fn pause() {
    std::thread::yield_now();
}

/// How much nicer a [`Below::Nice`] commit runs than the rest of the process.
pub const NICE: i32 = 10;

/// How far below the rest of the process a closure runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Below {
    /// Only when a core is otherwise idle.
    Idle,
    /// At a lower share of the CPU ([`NICE`]).
    Nice,
}

/// Runs `f` at a lower CPU priority when the process can restore its priority afterwards.
pub fn lowered<T>(how: Below, f: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    {
        if how == Below::Idle
            && can_idle()
            && linux::policy() == libc::SCHED_OTHER
            && linux::set_policy(libc::SCHED_IDLE)
        {
            let out = f();
            if !linux::set_policy(libc::SCHED_OTHER) {
                tracing::warn!("could not restore a commit thread's scheduling policy");
            }
            return out;
        }
        if can_renice() {
            let before = linux::nice();
            if linux::set_nice(before.saturating_add(NICE)) {
                let out = f();
                if !linux::set_nice(before) {
                    tracing::warn!("could not restore a commit thread's priority");
                }
                return out;
            }
        }
    }
    let _ = how;
    f()
}

/// Whether a thread may take its nice value back after raising it (probed once).
#[cfg(target_os = "linux")]
fn can_renice() -> bool {
    static CAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CAN.get_or_init(|| {
        probe(|| {
            let before = linux::nice();
            linux::set_nice(before.saturating_add(NICE)) && linux::set_nice(before)
        })
    })
}

/// Whether a thread may go back from `SCHED_IDLE` to the normal policy (probed once).
#[cfg(target_os = "linux")]
fn can_idle() -> bool {
    static CAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CAN.get_or_init(|| {
        probe(|| {
            linux::policy() == libc::SCHED_OTHER
                && linux::set_policy(libc::SCHED_IDLE)
                && linux::set_policy(libc::SCHED_OTHER)
        })
    })
}

/// Runs a round trip on a throwaway thread, so that no thread of ours is left changed.
#[cfg(target_os = "linux")]
fn probe(round_trip: fn() -> bool) -> bool {
    std::thread::spawn(round_trip).join().unwrap_or(false)
}

#[cfg(target_os = "linux")]
mod linux {
    /// The calling thread's nice value (Linux keeps one per thread).
    pub fn nice() -> i32 {
        // SAFETY: plain syscalls on the calling thread's id; no memory is shared.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            *libc::__errno_location() = 0;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        }
    }

    /// Sets the calling thread's nice value; false when refused.
    pub fn set_nice(value: i32) -> bool {
        // SAFETY: as above.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, value) == 0
        }
    }

    /// The calling thread's scheduling policy (pid 0: the calling thread, on Linux).
    pub fn policy() -> i32 {
        // SAFETY: a plain syscall on the calling thread.
        unsafe { libc::sched_getscheduler(0) }
    }

    /// Sets the calling thread's scheduling policy (a non-real-time one, priority 0); false
    /// when refused.
    pub fn set_policy(policy: i32) -> bool {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: the syscall reads `param`, which lives across the call.
        unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (before, inside, after) of `look` around a closure lowered `how`, on a thread of its
    /// own: the test harness's threads keep their priority.
    fn around(how: Below, look: fn() -> i32) -> (i32, i32, i32) {
        std::thread::spawn(move || (look(), lowered(how, look), look()))
            .join()
            .unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_nice_closure_runs_niced_and_the_priority_comes_back() {
        let (before, inside, after) = around(Below::Nice, linux::nice);
        assert_eq!(before, after, "the priority is restored");
        let want = if can_renice() { before + NICE } else { before };
        assert_eq!(inside, want);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_idle_closure_runs_idle_and_the_policy_comes_back() {
        let (before, inside, after) = around(Below::Idle, linux::policy);
        assert_eq!(before, libc::SCHED_OTHER);
        assert_eq!(after, libc::SCHED_OTHER, "the policy is restored");
        let want = if can_idle() {
            libc::SCHED_IDLE
        } else {
            libc::SCHED_OTHER
        };
        assert_eq!(inside, want);
    }

    #[test]
    fn the_closure_runs_and_returns_its_value() {
        assert_eq!(lowered(Below::Idle, || 42), 42);
        assert_eq!(lowered(Below::Nice, || 7), 7);
    }
}
