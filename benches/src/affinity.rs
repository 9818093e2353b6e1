//! Pinning to one core (`sched_setaffinity`), for this process or a child about to start.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Pins the calling thread (and so every thread it starts later) to `core`.
pub fn pin_current(core: usize) -> io::Result<()> {
    // SAFETY: `set` is a plain bit set on the stack, initialised by CPU_ZERO before use, and
    // sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes `command` start pinned to `core` (its threads and children inherit it).
pub fn pin_command(command: &mut Command, core: usize) -> &mut Command {
    // SAFETY: the hook only calls sched_setaffinity (async-signal-safe) on a stack value.
    unsafe { command.pre_exec(move || pin_current(core)) }
}

/// The number of cores this process may run on.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
