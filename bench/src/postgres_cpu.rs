//! The CPU used by the PostgreSQL server the bench runs on (`--postgres`), when that server
//! runs on this machine: its postmaster and every process the postmaster started (backends,
//! WAL writer, checkpointer, autovacuum...).
//!
//! The postmaster is found from the server's own answer, not by process name: the bench opens
//! a connection, asks `pg_backend_pid()`, and the parent of that backend is the postmaster. It
//! is accepted only if it is a `postgres` process that holds the socket listening on the URL's
//! port (checked through `/proc/PID/fd` when this user may read it), so a server on another
//! machine or in another PID namespace reports nothing rather than some unrelated process.

use std::collections::HashSet;
use std::time::Duration;

use sqlx::Connection;

use crate::proc_stat::ProcStat;

/// The postmaster of the PostgreSQL server under test.
#[derive(Debug, Clone)]
pub struct PostgresCpu {
    postmaster: u32,
}

impl PostgresCpu {
    /// Finds the postmaster serving `url`; Err says why its CPU cannot be measured.
    pub async fn locate(url: &str) -> Result<PostgresCpu, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        let port = parsed.port().unwrap_or(5432);
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let backend: Result<i32, _> = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await;
        // Read while the connection, so its backend process, is alive.
        let found = match backend {
            Ok(pid) => postmaster_of(pid, port),
            Err(e) => Err(format!("SELECT pg_backend_pid(): {e}")),
        };
        let _ = conn.close().await;
        found.map(|postmaster| PostgresCpu { postmaster })
    }

    pub fn postmaster(&self) -> u32 {
        self.postmaster
    }

    /// CPU time (user + system) of the postmaster and its children so far: the live ones, and
    /// through the postmaster's `cutime`/`cstime` the ones that exited (it waits for each), so
    /// a backend that ends between two reads still counts. The postmaster is read first: a
    /// child exiting during the scan can be missed by one read, never counted twice.
    pub fn cpu_time(&self) -> Result<Duration, String> {
        let postmaster = ProcStat::read(&self.postmaster.to_string())
            .map_err(|e| format!("the PostgreSQL postmaster is gone? {e}"))?;
        let mut total = postmaster.cpu + postmaster.reaped_children;
        let procs = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
        for entry in procs.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            // A process that exits while the directory is scanned has no stat any more.
            if let Ok(child) = ProcStat::read(pid)
                && child.ppid == self.postmaster
            {
                total += child.cpu;
            }
        }
        Ok(total)
    }
}

/// The postmaster (parent) of backend `backend`, checked to be PostgreSQL listening on `port`.
fn postmaster_of(backend: i32, port: u16) -> Result<u32, String> {
    let here = "is the server on this machine, in this PID namespace?";
    let stat = ProcStat::read(&backend.to_string()).map_err(|_| {
        format!("no process {backend} (the backend of the bench's connection): {here}")
    })?;
    let postmaster = stat.ppid;
    let comm = std::fs::read_to_string(format!("/proc/{postmaster}/comm")).unwrap_or_default();
    if !matches!(comm.trim(), "postgres" | "postmaster") {
        return Err(format!(
            "the parent of backend {backend} is {postmaster} ({}), not postgres: {here}",
            comm.trim()
        ));
    }
    let listening = listening_sockets(port);
    if listening.is_empty() {
        return Err(format!(
            "nothing on this machine listens on port {port}: {here}"
        ));
    }
    match socket_inodes_of(postmaster) {
        Ok(held) if held.is_disjoint(&listening) => Err(format!(
            "postgres process {postmaster} does not hold the socket listening on port {port}"
        )),
        // Or unreadable fds (another user's process): the name and the parenthood must do.
        _ => Ok(postmaster),
    }
}

/// Inodes of the TCP sockets (IPv4 and IPv6) listening on `port`.
fn listening_sockets(port: u16) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        // `sl local_address rem_address st ... uid timeout inode`; addresses are HEX:PORT.
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port)
                && f.get(3) == Some(&"0A")
                && let Some(inode) = f.get(9).and_then(|i| i.parse().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}

/// Inodes of the sockets `pid` has open; Err when its fds cannot be read.
fn socket_inodes_of(pid: u32) -> Result<HashSet<u64>, std::io::Error> {
    let mut inodes = HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        if let Ok(target) = std::fs::read_link(fd.path())
            && let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        {
            inodes.insert(inode);
        }
    }
    Ok(inodes)
}
