//! CPU time from `/proc`: per process (`/proc/<pid>/stat`), per process tree (a PostgreSQL
//! postmaster and its backends), and per core (`/proc/stat`), to tell how busy the machine
//! was besides the benchmark.

use std::collections::BTreeMap;
use std::fs;
use std::io;

use serde::{Deserialize, Serialize};

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// The fields of `/proc/<pid>/stat` this module uses, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcTimes {
    /// Parent process id.
    pub ppid: i32,
    /// User time of the process (all its threads).
    pub utime: u64,
    /// System time of the process (all its threads).
    pub stime: u64,
    /// User time of its children that have exited and been waited for.
    pub cutime: u64,
    /// System time of its children that have exited and been waited for.
    pub cstime: u64,
}

impl ProcTimes {
    /// Its own time plus its waited-for children's.
    pub fn total(&self) -> u64 {
        self.utime + self.stime + self.cutime + self.cstime
    }

    /// The user-mode part of [`ProcTimes::total`] (the rest is time in the kernel: the network
    /// stack, system calls).
    pub fn user(&self) -> u64 {
        self.utime + self.cutime
    }
}

/// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may
/// hold spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat(line: &str) -> Option<ProcTimes> {
    let rest = line.get(line.rfind(')')? + 1..)?;
    // After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    Some(ProcTimes {
        ppid: field(4)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        cutime: field(16)?.parse().ok()?,
        cstime: field(17)?.parse().ok()?,
    })
}

/// Reads `/proc/<pid>/stat`.
pub fn read_process(pid: i32) -> io::Result<ProcTimes> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| io::Error::other(format!("unparsable /proc/{pid}/stat")))
}

/// Every process whose parent is `parent`.
pub fn children(parent: i32) -> Vec<(i32, ProcTimes)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, read_process(pid).ok()?)))
        .filter(|(_, t)| t.ppid == parent)
        .collect()
}

/// What to count as the server's CPU time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Watch {
    /// One process (all its threads; a benchmark server, a `redis-server`).
    Process(i32),
    /// A process and its children (a PostgreSQL postmaster and its backends). Children that
    /// exit in between are counted through the parent's `cutime`/`cstime`.
    Tree(i32),
}

impl Watch {
    /// Parses `pid` or `tree:pid`.
    pub fn parse(text: &str) -> Option<Watch> {
        match text.strip_prefix("tree:") {
            Some(pid) => pid.parse().ok().map(Watch::Tree),
            None => text.parse().ok().map(Watch::Process),
        }
    }
}

/// CPU ticks of every watched process at one moment, by pid.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Ticks by pid.
    pub ticks: BTreeMap<i32, u64>,
    /// The user-mode part of `ticks`, by pid.
    #[serde(default)]
    pub user: BTreeMap<i32, u64>,
}

impl Snapshot {
    /// Reads every watched process now. A watched process that is gone is an error.
    pub fn take(watches: &[Watch]) -> io::Result<Snapshot> {
        let mut snapshot = Snapshot::default();
        for watch in watches {
            match *watch {
                Watch::Process(pid) => snapshot.insert(pid, read_process(pid)?),
                Watch::Tree(pid) => {
                    snapshot.insert(pid, read_process(pid)?);
                    for (child, times) in children(pid) {
                        snapshot.insert(child, times);
                    }
                }
            }
        }
        Ok(snapshot)
    }

    fn insert(&mut self, pid: i32, times: ProcTimes) {
        self.ticks.insert(pid, times.total());
        self.user.insert(pid, times.user());
    }

    /// The sum over every process.
    pub fn total(&self) -> u64 {
        self.ticks.values().sum()
    }

    /// The user-mode part of [`Snapshot::total`].
    pub fn user_total(&self) -> u64 {
        self.user.values().sum()
    }
}

/// Busy and total ticks of each core, from `/proc/stat`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CoreTicks {
    /// `(busy, total, steal)` per core, by core number.
    pub cores: BTreeMap<usize, (u64, u64, u64)>,
}

impl CoreTicks {
    /// Reads `/proc/stat` now.
    pub fn take() -> io::Result<CoreTicks> {
        let text = fs::read_to_string("/proc/stat")?;
        let mut cores = BTreeMap::new();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some(name) = fields.next() else { continue };
            let Some(core) = name
                .strip_prefix("cpu")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            // user nice system idle iowait irq softirq steal ...
            let values: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
            let get = |i: usize| values.get(i).copied().unwrap_or(0);
            let idle = get(3) + get(4);
            let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
            cores.insert(core, (busy, busy + idle, get(7)));
        }
        Ok(CoreTicks { cores })
    }

    /// Busy, total and steal ticks of `core` from `self` to `later`.
    pub fn delta(&self, later: &CoreTicks, core: usize) -> (u64, u64, u64) {
        match (self.cores.get(&core), later.cores.get(&core)) {
            (Some(a), Some(b)) => (
                b.0.saturating_sub(a.0),
                b.1.saturating_sub(a.1),
                b.2.saturating_sub(a.2),
            ),
            _ => (0, 0, 0),
        }
    }
}

/// The CPU time of this process so far, in ticks.
pub fn own_ticks() -> u64 {
    read_process(std::process::id().try_into().unwrap_or(0))
        .map(|t| t.utime + t.stime)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parentheses() {
        let line = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 1 0 1 1 1";
        let t = parse_stat(line).unwrap();
        assert_eq!(t.ppid, 1);
        assert_eq!((t.utime, t.stime, t.cutime, t.cstime), (250, 75, 3, 4));
        assert_eq!((t.total(), t.user()), (332, 253));
        assert_eq!(t.total(), 332);
    }

    #[test]
    fn reads_itself() {
        let me = read_process(std::process::id() as i32).unwrap();
        assert!(me.ppid > 0);
        assert!(Snapshot::take(&[Watch::Process(std::process::id() as i32)]).is_ok());
        assert!(!CoreTicks::take().unwrap().cores.is_empty());
    }
}
