//! What weir reads from /proc (Linux): this process's RSS and CPU
//! time, the machine's CPU time, and the CPU time of the PostgreSQL
//! backends serving one database. No new dependency; where /proc is
//! missing, the figures are `None`.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `USER_HZ`: 100 on every Linux ABI weir runs on.
const TICKS_PER_SEC: f64 = 100.0;
/// How often the backend sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Where the machine's CPU time went while a run lasted.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuUse {
    /// This process (user + system).
    pub weir_secs: f64,
    /// Every other process on the machine: the PostgreSQL backends serving
    /// the catalog queries, and whatever else runs there.
    pub others_secs: f64,
    /// Of `others_secs`: the PostgreSQL backends connected to the
    /// benchmark database, when the server runs on this machine and its
    /// processes are visible.
    pub backends_secs: Option<f64>,
    pub idle_secs: f64,
}

/// A `/proc/self/status` figure (`VmHWM:`, `VmRSS:`), in MiB.
pub fn rss_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let value = status.lines().find_map(|l| l.strip_prefix(field))?;
    let kib: f64 = value.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets `VmHWM` to the current RSS (Linux: `5` to `clear_refs`).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU counters, in clock ticks.
pub struct CpuSnapshot {
    /// Every CPU of the machine: busy and idle.
    busy: u64,
    idle: u64,
    /// This process: user + system.
    own: u64,
}

impl CpuSnapshot {
    pub fn take() -> Option<CpuSnapshot> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        let get = |i: usize| v.get(i).copied().unwrap_or_default();
        let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
        let idle = get(3) + get(4);
        let own = process_ticks("self")?;
        Some(CpuSnapshot { busy, idle, own })
    }

    /// The CPU use between `before` and this snapshot.
    pub fn since(&self, before: &CpuSnapshot, backends_ticks: Option<u64>) -> CpuUse {
        let own = self.own.saturating_sub(before.own);
        let busy = self.busy.saturating_sub(before.busy);
        CpuUse {
            weir_secs: secs(own),
            others_secs: secs(busy.saturating_sub(own)),
            backends_secs: backends_ticks.map(secs),
            idle_secs: secs(self.idle.saturating_sub(before.idle)),
        }
    }
}

fn secs(ticks: u64) -> f64 {
    ticks as f64 / TICKS_PER_SEC
}

/// utime + stime of `/proc/<pid>/stat`: fields 14 and 15. The command
/// name (field 2) may hold spaces, so fields are counted from its `)`.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Whether a process title is a PostgreSQL backend connected to
/// `database`: `postgres: [cluster: ]user database host(port) activity`.
fn is_backend_of(cmdline: &str, database: &str) -> bool {
    let title = cmdline.trim_end_matches('\0');
    let Some(rest) = title.strip_prefix("postgres: ") else { return false };
    let mut words = rest.split_whitespace();
    let mut user = words.next();
    if user.is_some_and(|w| w.ends_with(':')) {
        // The cluster name came first.
        user = words.next();
    }
    user.is_some() && words.next() == Some(database)
}

/// Watches the PostgreSQL backends of one database on a thread of its own
/// (the runtime's threads are busy with the run) and adds up their CPU
/// time. Backends that start during the run count from their start; the
/// last tenth of a second of one that ends is missed.
pub struct BackendSampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<HashMap<u32, (u64, u64)>>>,
}

impl BackendSampler {
    pub fn start(database: &str) -> BackendSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let database = database.to_string();
        let thread = std::thread::Builder::new()
            .name("bench-sampler".into())
            .spawn(move || {
                // pid → (ticks when first seen, ticks when last seen)
                let mut seen: HashMap<u32, (u64, u64)> = HashMap::new();
                let mut first_pass = true;
                loop {
                    let done = flag.load(Ordering::Relaxed);
                    sample(&database, &mut seen, first_pass);
                    first_pass = false;
                    if done {
                        return seen;
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
            .ok();
        BackendSampler { stop, thread }
    }

    /// Stops sampling; the backends' CPU ticks during the run, or `None`
    /// when no backend of the database was ever seen.
    pub fn finish(mut self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self.thread.take()?.join().ok()?;
        if seen.is_empty() {
            return None;
        }
        Some(seen.values().map(|(first, last)| last.saturating_sub(*first)).sum())
    }
}

impl Drop for BackendSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One look at every process. A backend already there at the first look
/// counts from then; one that appears later counts from zero.
fn sample(database: &str, seen: &mut HashMap<u32, (u64, u64)>, first_pass: bool) {
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(ticks) = seen.get_mut(&pid) {
            if let Some(now) = process_ticks(&pid.to_string()) {
                ticks.1 = now;
            }
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        if !is_backend_of(&String::from_utf8_lossy(&cmdline), database) {
            continue;
        }
        if let Some(now) = process_ticks(&pid.to_string()) {
            seen.insert(pid, (if first_pass { now } else { 0 }, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_splits_into_own_others_and_idle() {
        let before = CpuSnapshot { busy: 1_000, idle: 500, own: 100 };
        let after = CpuSnapshot { busy: 1_550, idle: 550, own: 300 };
        let cpu = after.since(&before, Some(250));
        assert_eq!((cpu.weir_secs, cpu.others_secs, cpu.idle_secs), (2.0, 3.5, 0.5));
        assert_eq!(cpu.backends_secs, Some(2.5));
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(CpuSnapshot::take().is_some());
            assert!(rss_mib("VmRSS:").is_some_and(|m| m > 0.0));
        }
    }

    #[test]
    fn recognises_backend_titles() {
        let db = "weir_bench";
        assert!(is_backend_of("postgres: 15/main: postgres weir_bench 127.0.0.1(43102) SELECT", db));
        assert!(is_backend_of("postgres: postgres weir_bench [local] idle\0\0", db));
        assert!(!is_backend_of("postgres: 15/main: postgres weir_bench_scratch 127.0.0.1(1) idle", db));
        assert!(!is_backend_of("postgres: 15/main: checkpointer", db));
        assert!(!is_backend_of("/usr/lib/postgresql/15/bin/postgres -D weir_bench", db));
        assert!(!is_backend_of("postgres: weir_bench weir_bench 127.0.0.1(1) idle", "other"));
    }
}
