//! Hardware counters of the server processes over the measured window, from `perf stat`:
//! instructions and cycles, in user mode and in the kernel.
//!
//! CPU time from `/proc` ([`procstat`](crate::procstat)) moves with everything the host does
//! (hypervisor steal, a neighbour's cache use, lock waits in the loopback network stack).
//! Instructions do not: they count the work done, so a difference between two variants in
//! user-mode instructions per request is the difference in their code, run after run. Cycles
//! count only while the server runs on the CPU (not while the hypervisor has taken the core),
//! and include stalls on memory.
//!
//! `perf stat` is attached to the server's processes with its events disabled
//! (`-D -1`), and enabled and disabled through a control FIFO (`--control`) at the window's
//! edges, so the counts cover the same window as the requests counted.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

/// The events counted, in this order.
const EVENTS: &str = "instructions:u,cycles:u,instructions:k,cycles:k";

/// Counts over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Instructions retired in user mode.
    pub instructions_user: u64,
    /// Cycles in user mode.
    pub cycles_user: u64,
    /// Instructions retired in the kernel.
    pub instructions_kernel: u64,
    /// Cycles in the kernel.
    pub cycles_kernel: u64,
}

/// [`Counts`] divided by a number of requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerRequest {
    /// User-mode instructions per request.
    pub instructions_user: f64,
    /// User-mode cycles per request.
    pub cycles_user: f64,
    /// Kernel instructions per request.
    pub instructions_kernel: f64,
    /// Kernel cycles per request.
    pub cycles_kernel: f64,
}

impl Counts {
    /// Per request.
    pub fn per_request(&self, requests: u64) -> PerRequest {
        let n = requests.max(1) as f64;
        PerRequest {
            instructions_user: self.instructions_user as f64 / n,
            cycles_user: self.cycles_user as f64 / n,
            instructions_kernel: self.instructions_kernel as f64 / n,
            cycles_kernel: self.cycles_kernel as f64 / n,
        }
    }
}

/// A running `perf stat`, attached with its events disabled.
pub struct Counter {
    child: Child,
    control: File,
    ack: BufReader<File>,
    output: PathBuf,
    dir: PathBuf,
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Counter {
    /// Attaches `perf stat` to `pids` (events disabled until [`Counter::enable`]).
    pub fn attach(pids: &[i32]) -> Result<Counter, String> {
        if pids.is_empty() {
            return Err("no process to count".into());
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("bench-perf-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("perf: {}: {e}", dir.display()))?;
        let (ctl, ack, output) = (dir.join("ctl"), dir.join("ack"), dir.join("counts"));
        for fifo in [&ctl, &ack] {
            let made = Command::new("mkfifo")
                .arg(fifo)
                .status()
                .map_err(|e| format!("mkfifo: {e}"))?;
            if !made.success() {
                return Err(format!("mkfifo {} failed", fifo.display()));
            }
        }
        let pid_list = pids
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let child = Command::new("perf")
            .args(["stat", "-x", ",", "-D", "-1", "-e", EVENTS, "--control"])
            .arg(format!("fifo:{},{}", ctl.display(), ack.display()))
            .arg("-o")
            .arg(&output)
            .args(["-p", &pid_list])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("perf (is it installed?): {e}"))?;
        // Read-write opens of a FIFO never block, whether or not perf has opened it yet.
        let open = |path: &PathBuf| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| format!("perf control FIFO: {e}"))
        };
        let (control, ack) = (open(&ctl)?, open(&ack)?);
        Ok(Counter {
            child,
            control,
            ack: BufReader::new(ack),
            output,
            dir,
        })
    }

    fn command(&mut self, command: &str) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!("perf stat exited early ({status})"));
        }
        writeln!(self.control, "{command}").map_err(|e| format!("perf control: {e}"))?;
        let mut line = String::new();
        self.ack
            .read_line(&mut line)
            .map_err(|e| format!("perf ack: {e}"))?;
        // perf writes its answer with the string's terminating NUL, which starts the next line.
        let answer = line.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if answer != "ack" {
            return Err(format!("perf answered `{answer}` to `{command}`"));
        }
        Ok(())
    }

    /// Starts counting (returns once perf has acknowledged).
    pub fn enable(&mut self) -> Result<(), String> {
        self.command("enable")
    }

    /// Stops counting.
    pub fn disable(&mut self) -> Result<(), String> {
        self.command("disable")
    }

    /// Ends `perf stat` and reads its counts.
    pub fn finish(mut self) -> Result<Counts, String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|e| format!("perf pid: {e}"))?;
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our own child's, which
        // has not been waited for, so it cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGINT) };
        self.child.wait().map_err(|e| format!("perf: {e}"))?;
        let text =
            std::fs::read_to_string(&self.output).map_err(|e| format!("perf output: {e}"))?;
        // `self` drops here: the directory and its FIFOs are removed.
        parse(&text).ok_or_else(|| format!("perf output not understood:\n{text}"))
    }
}

/// Reads `perf stat -x ,` output: `value,unit,event,...` per line.
pub fn parse(text: &str) -> Option<Counts> {
    let mut counts = Counts::default();
    let mut seen = 0;
    for line in text.lines() {
        let mut fields = line.split(',');
        let (Some(value), Some(_unit), Some(event)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(value) = value.trim().parse::<u64>() else {
            continue;
        };
        let slot = match event.trim() {
            "instructions:u" => &mut counts.instructions_user,
            "cycles:u" => &mut counts.cycles_user,
            "instructions:k" => &mut counts.instructions_kernel,
            "cycles:k" => &mut counts.cycles_kernel,
            _ => continue,
        };
        *slot = value;
        seen += 1;
    }
    (seen == 4).then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_perf_csv() {
        let text = "# started on Tue Nov 24 03:04:14 2026\n\n\
            178178715,,instructions:u,1184352930,100.00,0.46,insn per cycle\n\
            386162698,,cycles:u,1002977620,100.00,,\n\
            5000,,instructions:k,1002977620,100.00,,\n\
            9000,,cycles:k,1002977620,100.00,,\n\
            Events disabled\n";
        let counts = parse(text).unwrap();
        assert_eq!(
            counts,
            Counts {
                instructions_user: 178_178_715,
                cycles_user: 386_162_698,
                instructions_kernel: 5000,
                cycles_kernel: 9000,
            }
        );
        assert_eq!(counts.per_request(1000).instructions_kernel, 5.0);
    }

    #[test]
    fn refuses_missing_or_unsupported_events() {
        assert_eq!(parse("<not counted>,,instructions:u,0,100.00,,\n"), None);
        assert_eq!(parse(""), None);
    }
}
