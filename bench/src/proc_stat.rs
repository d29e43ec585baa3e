//! CPU times and parent of a process, from `/proc/PID/stat` (Linux).

use std::process::Command;
use std::time::Duration;

/// The fields of `/proc/PID/stat` the bench reads.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub ppid: u32,
    /// User + system time of the process itself (all its threads).
    pub cpu: Duration,
    /// User + system time of its children that exited and were waited for.
    pub reaped_children: Duration,
}

impl ProcStat {
    /// `/proc/{pid}/stat` (`self` for this process).
    pub fn read(pid: &str) -> Result<ProcStat, String> {
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        ProcStat::parse(&stat).ok_or_else(|| format!("{path}: unexpected format: {stat}"))
    }

    /// Parses the text of a stat file; None when it is not one.
    fn parse(stat: &str) -> Option<ProcStat> {
        // `comm` is in parentheses and may hold spaces or ')': the fields start after the last
        // ')'. There, state is field 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17.
        let (_, rest) = stat.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let num = |field: usize| -> Option<u64> { fields.get(field - 3)?.parse().ok() };
        let ticks = |t: u64| Duration::from_secs_f64(t as f64 / clock_ticks_per_sec());
        Some(ProcStat {
            ppid: u32::try_from(num(4)?).ok()?,
            cpu: ticks(num(14)? + num(15)?),
            reaped_children: ticks(num(16)? + num(17)?),
        })
    }
}

/// CPU time (user + system) of `/proc/{pid}` (`self` for this process).
pub fn cpu_time_of(pid: &str) -> Result<Duration, String> {
    Ok(ProcStat::read(pid)?.cpu)
}

/// `sysconf(_SC_CLK_TCK)` through `getconf` (100 on Linux in practice).
fn clock_ticks_per_sec() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_whose_name_holds_spaces_and_parentheses() {
        let ticks = clock_ticks_per_sec();
        let line = "4242 (postgres: a) b) S 17 4242 4242 0 -1 4194560 500 0 0 0 \
                    300 100 20 30 20 0 1 0 12345 0 0";
        let s = ProcStat::parse(line).expect("a stat line");
        assert_eq!(s.ppid, 17);
        assert_eq!(s.cpu, Duration::from_secs_f64(400.0 / ticks));
        assert_eq!(s.reaped_children, Duration::from_secs_f64(50.0 / ticks));
        assert!(ProcStat::parse("4242 (x) S 17").is_none());
        assert!(ProcStat::parse("no parenthesis").is_none());
    }

    #[test]
    fn reads_this_process() {
        let s = ProcStat::read("self").expect("/proc/self/stat");
        assert!(s.ppid > 0);
    }
}
