//! Settings of the whole process, made once at start by the binaries (`conveyor`,
//! `conveyor-bench`).

/// Turns transparent huge pages off for this process and the processes it starts (Linux;
/// elsewhere it does nothing). The long-running commands (`coordinator`, `worker`, `build`)
/// call it; one-shot front-end commands keep the default, which did no worse for
/// `conveyor-bench plan` (0.208 s against 0.214 s without huge pages at 10,000 images, medians
/// of five interleaved runs: within noise).
///
/// mimalloc asks the kernel for huge pages for its heaps, and the kernel then zeroes 2 MiB at
/// the first touch of each one, however little of it is used. Every new thread's heap pays
/// that: in a coordinator that had just started, 74% of its CPU in a fully cached build of 20
/// images went to zeroing huge pages (`perf`), and that build took 0.31 s instead of 0.14 s.
pub fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // prctl is variadic and reads its arguments as unsigned longs: pass them as such.
        let (on, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
        let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, on, unused, unused, unused) };
        if rc != 0 {
            tracing::debug!(
                "transparent huge pages stay as they are: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}
