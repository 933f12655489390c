//! Whether the process that started a run may still be running: a later
//! run of the same service purges only the records of runs that are gone.

/// Which process a run is, as far as this machine can tell.
pub(super) struct Process {
    pub(super) host: String,
    pub(super) pid: u32,
    /// Field 22 of `/proc/<pid>/stat`; empty where there is no `/proc`.
    pub(super) start: String,
}

impl Process {
    pub(super) fn current() -> Process {
        let pid = std::process::id();
        Process { host: host_name(), pid, start: process_start(pid).unwrap_or_default() }
    }

    /// Whether the process may still be running: on another machine, or
    /// where this one cannot tell, it may.
    pub(super) fn alive(&self) -> bool {
        if self.host != host_name() || self.start.is_empty() {
            return true;
        }
        process_start(self.pid).is_some_and(|start| start == self.start)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// When `pid` started, in clock ticks since boot (Linux); `None` when there
/// is no such process, or no `/proc`.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count after it.
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(19).map(String::from)
}
