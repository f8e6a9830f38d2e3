//! The membership machine's methods, for the replayer.

use super::{ok, unit, Args, Bad, CallResult};
use shardtally::{Membership, Timestamp};
use shardtally_api::{views, AnyError, Value};

pub(super) fn call(m: &mut Membership, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    let err = AnyError::from;
    Ok(match method {
        "register" | "heartbeat" | "unregister" => {
            let (cluster, holder, now) = (a.string("cluster")?, a.string("holder")?, a.now()?);
            a.done()?;
            unit(match method {
                "register" => m.register(&cluster, &holder, now),
                "heartbeat" => m.heartbeat(&cluster, &holder, now),
                _ => m.unregister(&cluster, &holder, now),
            })
        }
        "remove_cluster" => {
            let (cluster, now) = (a.string("cluster")?, a.now()?);
            a.done()?;
            unit(m.remove_cluster(&cluster, now))
        }
        "handle_timeout" => {
            let now = a.now()?;
            a.done()?;
            m.handle_timeout(now);
            ok(Value::Null)
        }
        "shard_info" => {
            let (cluster, holder, now) = (a.string("cluster")?, a.string("holder")?, a.now()?);
            a.done()?;
            m.shard_info(&cluster, &holder, now).map_err(err).and_then(|i| ok(views::shard_info(&i)))
        }
        "assignments" => {
            let (cluster, now) = (a.string("cluster")?, a.now()?);
            a.done()?;
            m.assignments(&cluster, now).map_err(err).and_then(|all| ok(views::shard_infos(&all)))
        }
        "cluster_info" | "snapshot_cluster" => {
            let cluster = a.string("cluster")?;
            a.done()?;
            if method == "cluster_info" {
                ok(m.cluster_info(&cluster).map(|c| views::cluster_info(&c)))
            } else {
                ok(m.snapshot_cluster(&cluster))
            }
        }
        other => {
            a.done()?;
            match other {
                "poll_output" => ok(m.poll_output().map(|o| views::membership_output(&o))),
                "poll_timeout" => ok(m.poll_timeout().map(Timestamp::as_millis)),
                "next_deadline" => ok(m.next_deadline().map(views::deadline)),
                "take_state_changed" => ok(m.take_state_changed()),
                "take_changed_clusters" => ok(views::strings(&m.take_changed_clusters())),
                "clusters" => ok(views::strings(&m.clusters())),
                "stats" => ok(views::membership_stats(m.stats())),
                _ => return Err(format!("Membership has no method {other:?}")),
            }
        }
    })
}
