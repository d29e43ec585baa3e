//! The result table: one row per measure, printed as markdown with the machine it ran on; with
//! `--runs N`, one table per run and then the median of each cell.

use std::path::Path;

use crate::cpu::Cpu;
use crate::value::{Value, median};

/// One line of the result table.
struct Row {
    measure: String,
    result: Value,
    target: &'static str,
    /// Whether the target is met (None: no target).
    met: Option<bool>,
    /// CPUs used during the phase (None: not a phase that runs load).
    cpu: Option<Cpu>,
    counts: String,
}

pub struct Report {
    smoke: bool,
    /// "SQLite" or "PostgreSQL".
    pub backend: &'static str,
    /// Which run this is, e.g. "run 2 of 3" (empty for a single run).
    run: String,
    load_at_start: String,
    /// Lines for the header, e.g. why a column is empty.
    notes: Vec<String>,
    rows: Vec<Row>,
}

impl Report {
    pub fn new(smoke: bool, backend: &'static str, run: String) -> Report {
        Report {
            smoke,
            backend,
            run,
            load_at_start: loadavg(),
            notes: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// A line for the report's header.
    pub fn note(&mut self, note: String) {
        eprintln!("hookwire-bench: {note}");
        self.notes.push(note);
    }

    pub fn add(
        &mut self,
        measure: impl Into<String>,
        result: Value,
        target: &'static str,
        met: Option<bool>,
        cpu: Option<Cpu>,
        counts: String,
    ) {
        let row = Row {
            measure: measure.into(),
            result,
            target,
            met,
            cpu,
            counts,
        };
        let cpu = row.cpu.map_or_else(String::new, |c| {
            format!(
                "; CPUs hookwire {}, PostgreSQL {}, bench {}",
                cpus(Some(c.hookwire)),
                c.postgres.map_or("–".into(), |p| cpus(Some(p))),
                cpus(Some(c.bench))
            )
        });
        eprintln!(
            "hookwire-bench: {}: {} ({}{cpu})",
            row.measure,
            row.result.text(),
            row.counts
        );
        self.rows.push(row);
    }

    pub fn print(&self, binary: Option<&Path>) {
        let run = if self.run.is_empty() {
            String::new()
        } else {
            format!(", {}", self.run)
        };
        println!(
            "## hookwire-bench results ({}{run})",
            if self.smoke { "smoke" } else { "full" }
        );
        println!();
        self.print_header(binary);
        println!(
            "- load average (1 min) at the start: {}, at the end: {}",
            self.load_at_start,
            loadavg()
        );
        println!();
        println!(
            "| Measure | Result | Target | Met | hookwire CPUs | PG CPUs | bench CPUs | Counts |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let met = match (r.met, self.smoke) {
                (None, _) => "–",
                (Some(_), true) => "n/a (smoke)",
                (Some(true), false) => "yes",
                (Some(false), false) => "**no**",
            };
            println!(
                "| {} | {} | {} | {met} | {} | {} |",
                r.measure,
                r.result.text(),
                r.target,
                cpu_cells(r.cpu),
                r.counts
            );
        }
    }

    fn print_header(&self, binary: Option<&Path>) {
        println!("- machine: {}", machine());
        println!("- database: {}", self.backend);
        if let Some(b) = binary {
            println!("- hookwire: `{}`", b.display());
        }
        if cfg!(debug_assertions) {
            println!("- note: hookwire-bench itself is a debug build");
        }
        for note in &self.notes {
            println!("- {note}");
        }
    }

    /// The table of medians over `runs` (all complete runs of the same plan): per cell, the
    /// median of each number; "–" where the runs' cells differ in shape.
    pub fn print_medians(runs: &[Report], binary: Option<&Path>) {
        let Some(first) = runs.first() else { return };
        println!(
            "## hookwire-bench results ({}, median of {} runs)",
            if first.smoke { "smoke" } else { "full" },
            runs.len()
        );
        println!();
        first.print_header(binary);
        let loads: Vec<&str> = runs.iter().map(|r| r.load_at_start.as_str()).collect();
        println!(
            "- load average (1 min) at the start of each run: {}",
            loads.join(", ")
        );
        println!();
        println!(
            "| Measure | Result (median of {}) | hookwire CPUs | PG CPUs | bench CPUs |",
            runs.len()
        );
        println!("|---|---|---|---|---|");
        for (i, row) in first.rows.iter().enumerate() {
            // The same row of every run, by position and name.
            let same: Vec<&Row> = runs
                .iter()
                .filter_map(|r| r.rows.get(i).filter(|o| o.measure == row.measure))
                .collect();
            let result = (same.len() == runs.len())
                .then(|| Value::median(&same.iter().map(|r| &r.result).collect::<Vec<_>>()))
                .flatten()
                .map_or_else(|| "–".into(), |v| v.text());
            let cpu = row.cpu.map(|_| Cpu {
                hookwire: median_of(&same, |c| Some(c.hookwire)).unwrap_or(0.0),
                postgres: median_of(&same, |c| c.postgres),
                bench: median_of(&same, |c| Some(c.bench)).unwrap_or(0.0),
            });
            println!("| {} | {result} | {} |", row.measure, cpu_cells(cpu));
        }
    }
}

/// The median of one CPU column over `rows` (None when no row has it).
fn median_of(rows: &[&Row], column: impl Fn(&Cpu) -> Option<f64>) -> Option<f64> {
    let mut xs: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.cpu.as_ref().and_then(&column))
        .collect();
    (!xs.is_empty()).then(|| median(&mut xs))
}

/// The three CPU cells of a row: hookwire, PostgreSQL, bench (blank where not measured).
fn cpu_cells(cpu: Option<Cpu>) -> String {
    match cpu {
        None => " |  | ".into(),
        Some(c) => format!(
            "{} | {} | {}",
            cpus(Some(c.hookwire)),
            cpus(c.postgres),
            cpus(Some(c.bench))
        ),
    }
}

fn cpus(c: Option<f64>) -> String {
    c.map_or_else(String::new, |c| format!("{c:.2}"))
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
