//! The result table: one row per measure, printed as markdown with the machine it ran on.

use std::path::Path;

/// One line of the result table.
struct Row {
    measure: String,
    result: String,
    target: &'static str,
    /// Whether the target is met (None: no target).
    met: Option<bool>,
    counts: String,
}

pub struct Report {
    smoke: bool,
    /// "SQLite" or "PostgreSQL".
    pub backend: &'static str,
    rows: Vec<Row>,
}

impl Report {
    pub fn new(smoke: bool, backend: &'static str) -> Report {
        Report {
            smoke,
            backend,
            rows: Vec::new(),
        }
    }

    pub fn add(
        &mut self,
        measure: impl Into<String>,
        result: String,
        target: &'static str,
        met: Option<bool>,
        counts: String,
    ) {
        let row = Row {
            measure: measure.into(),
            result,
            target,
            met,
            counts,
        };
        eprintln!(
            "hookwire-bench: {}: {} ({})",
            row.measure, row.result, row.counts
        );
        self.rows.push(row);
    }

    pub fn print(&self, binary: Option<&Path>) {
        println!(
            "## hookwire-bench results ({})",
            if self.smoke { "smoke" } else { "full" }
        );
        println!();
        println!("- machine: {}", machine());
        println!("- database: {}", self.backend);
        println!("- load average (1 min) at the end: {}", loadavg());
        if let Some(b) = binary {
            println!("- hookwire: `{}`", b.display());
        }
        if cfg!(debug_assertions) {
            println!("- note: hookwire-bench itself is a debug build");
        }
        println!();
        println!("| Measure | Result | Target | Met | Counts |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            let met = match (r.met, self.smoke) {
                (None, _) => "–",
                (Some(_), true) => "n/a (smoke)",
                (Some(true), false) => "yes",
                (Some(false), false) => "**no**",
            };
            println!(
                "| {} | {} | {} | {met} | {} |",
                r.measure, r.result, r.target, r.counts
            );
        }
    }
}

/// CPUs, CPU model and memory of this machine.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    format!("{cpus} CPUs ({model}), {mem} RAM")
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
