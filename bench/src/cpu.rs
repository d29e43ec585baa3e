//! CPU used over a stretch of the run by the hookwire nodes, PostgreSQL and the bench itself,
//! each as CPU time over wall time (2.00 = both cores of this machine busy).

use std::time::{Duration, Instant};

use crate::postgres_cpu::PostgresCpu;
use crate::proc_stat::cpu_time_of;
use crate::server::Server;

/// CPUs used during one phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cpu {
    /// All hookwire nodes of the phase, summed.
    pub hookwire: f64,
    /// None on SQLite, or when the PostgreSQL server's processes could not be found.
    pub postgres: Option<f64>,
    /// The load generator and the receiver (this process).
    pub bench: f64,
}

/// CPU times at the start of a phase.
pub struct CpuMeter {
    pids: Vec<String>,
    postgres: Option<PostgresCpu>,
    hookwire_at_start: Duration,
    postgres_at_start: Duration,
    bench_at_start: Duration,
    at: Instant,
}

impl CpuMeter {
    /// Starts measuring the CPU of `servers`, of `postgres` if given and of this process.
    pub fn start(servers: &[&Server], postgres: Option<&PostgresCpu>) -> Result<CpuMeter, String> {
        let pids: Vec<String> = servers.iter().map(|s| s.pid().to_string()).collect();
        Ok(CpuMeter {
            hookwire_at_start: sum_of(&pids)?,
            postgres_at_start: match postgres {
                Some(pg) => pg.cpu_time()?,
                None => Duration::ZERO,
            },
            bench_at_start: cpu_time_of("self")?,
            postgres: postgres.cloned(),
            pids,
            at: Instant::now(),
        })
    }

    /// CPUs used since `start`.
    pub fn read(&self) -> Result<Cpu, String> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let per_wall =
            |now: Duration, then: Duration| now.saturating_sub(then).as_secs_f64() / wall;
        let postgres = match &self.postgres {
            Some(pg) => Some(per_wall(pg.cpu_time()?, self.postgres_at_start)),
            None => None,
        };
        Ok(Cpu {
            hookwire: per_wall(sum_of(&self.pids)?, self.hookwire_at_start),
            postgres,
            bench: per_wall(cpu_time_of("self")?, self.bench_at_start),
        })
    }
}

fn sum_of(pids: &[String]) -> Result<Duration, String> {
    pids.iter().map(|p| cpu_time_of(p)).sum()
}
