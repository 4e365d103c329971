//! How the process's allocator hands memory back to the system.

/// Bodies up to the body limit are allocated whole. glibc's malloc gives a block above
/// its mmap threshold a mapping of its own, returned to the system when freed, but it
/// raises the threshold to the size of any such block once one is freed; from then on
/// large bodies come from the heap arenas, whose pages stay resident. A fixed threshold
/// keeps a burst of large bodies from raising the resident memory for good (bench/run
/// measured the ingress's peak at 53.7 MiB with it, 64.3 MiB without).
pub fn return_large_blocks_at_once() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 256 * 1024;
        // SAFETY: mallopt only sets a tunable of the allocator, under the allocator's
        // own lock, so calling it while other threads allocate is sound.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
    }
}
