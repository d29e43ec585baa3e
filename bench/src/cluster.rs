//! The phase with several hookwire nodes on one PostgreSQL database: two more `hookwire serve`
//! processes join the run's server, SignalEvents go round-robin to all three, and every
//! delivery is counted exactly once as in the one-node delivery phases.

use std::path::Path;
use std::time::Duration;

use crate::phases::{self, PHASE_CLUSTER_FANOUT, PHASE_CLUSTER_ONE};
use crate::run::Bench;
use crate::server::{Server, Soap};

/// Nodes of the phase, the run's server included.
pub const CLUSTER_NODES: usize = 3;

/// One more node: its process and a client logged in on it.
pub struct Node {
    pub server: Server,
    pub soap: Soap,
}

/// How to start a node like the run's server.
pub struct NodeSpec<'a> {
    pub binary: &'a Path,
    pub database: &'a str,
    pub server_args: &'a [String],
}

/// Starts the extra nodes, runs the 1-webhook and fan-out deliveries over all nodes, then
/// stops the extra nodes (SIGTERM; each must exit cleanly).
pub async fn cluster(b: &mut Bench<'_>, spec: &NodeSpec<'_>) -> Result<(), String> {
    let mut extra = Vec::with_capacity(CLUSTER_NODES - 1);
    for _ in 1..CLUSTER_NODES {
        let server = Server::start(
            spec.binary,
            spec.database,
            spec.server_args,
            &b.http,
            Duration::from_secs(30),
        )
        .await?;
        let soap = Soap::login(&b.http, &server.base).await?;
        extra.push(Node { server, soap });
    }
    let (delivery, fanout, hooks) = (b.plan.delivery, b.plan.fanout, b.plan.fanout_hooks);
    phases::delivery(b, PHASE_CLUSTER_ONE, 1, delivery, &extra).await?;
    all_alive(b, &mut extra)?;
    phases::delivery(b, PHASE_CLUSTER_FANOUT, hooks, fanout, &extra).await?;
    all_alive(b, &mut extra)?;
    // On an error above, dropping the nodes kills them.
    for node in &mut extra {
        let (status, _) = node.server.terminate(Duration::from_secs(30)).await?;
        if !status.success() {
            return Err(format!(
                "an extra node (pid {}) exited with {status} on SIGTERM",
                node.server.pid()
            ));
        }
    }
    Ok(())
}

fn all_alive(b: &mut Bench<'_>, extra: &mut [Node]) -> Result<(), String> {
    b.server.check_alive()?;
    extra
        .iter_mut()
        .try_for_each(|node| node.server.check_alive())
}
