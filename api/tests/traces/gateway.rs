//! The gateway's methods, for the replayer.

use super::{ok, unit, Args, Bad, CallResult};
use shardtally::{CreationId, Gateway, GossipId, Timestamp};
use shardtally_api::{views, AnyError, Value};

pub(super) fn call(g: &mut Gateway, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    let err = AnyError::from;
    Ok(match method {
        "route" => {
            let (req, now) = (a.string("request id")?, a.now()?);
            a.done()?;
            g.route(&req, now).map_err(err).and_then(|r| ok(views::route(&r)))
        }
        "handle_replica_created" => {
            let (creation, replica, now) = (a.u64("creation")?, a.string("replica")?, a.now()?);
            a.done()?;
            g.handle_replica_created(CreationId::from_raw(creation), &replica, now).map_err(err).and_then(|p| ok(views::placement(&p)))
        }
        "handle_creation_failed" => {
            let (creation, now) = (a.u64("creation")?, a.now()?);
            a.done()?;
            ok(g.handle_creation_failed(CreationId::from_raw(creation), now).map(|r| views::strings(&r)))
        }
        "handle_connect" => {
            let (group, replica, connection, req, now) =
                (a.string("group")?, a.string("replica")?, a.string("connection")?, a.string("request id")?, a.now()?);
            a.done()?;
            g.handle_connect(&group, &replica, &connection, &req, now).map_err(err).and_then(|o| ok(views::connect_outcome(o)))
        }
        "handle_close" => {
            let (group, replica, connection, now) = (a.string("group")?, a.string("replica")?, a.string("connection")?, a.now()?);
            a.done()?;
            g.handle_close(&group, &replica, &connection, now).map_err(err).and_then(ok)
        }
        "handle_report" => {
            let (group, replica, connections, now) = (a.string("group")?, a.string("replica")?, a.string_pairs("connections")?, a.now()?);
            a.done()?;
            unit(g.handle_report(&group, &replica, &connections, now))
        }
        "gossip" => {
            let (group, replica, now) = (a.string("group")?, a.string("replica")?, a.now()?);
            a.done()?;
            g.gossip(&group, &replica, now).map_err(err).and_then(|p| ok(views::gossip_plan(&p)))
        }
        "handle_gossip_reply" => {
            let (group, gossip, peer, payload, now) =
                (a.string("group")?, a.u64("gossip")?, a.string("peer")?, a.bytes("payload")?, a.now()?);
            a.done()?;
            g.handle_gossip_reply(&group, GossipId::from_raw(gossip), &peer, &payload, now).map_err(err).and_then(ok)
        }
        "handle_gossip_failure" => {
            let (group, gossip, peer, now) = (a.string("group")?, a.u64("gossip")?, a.string("peer")?, a.now()?);
            a.done()?;
            g.handle_gossip_failure(&group, GossipId::from_raw(gossip), &peer, now).map_err(err).and_then(ok)
        }
        "handle_timeout" => {
            let now = a.now()?;
            a.done()?;
            g.handle_timeout(now);
            ok(Value::Null)
        }
        "emit" | "broadcast" => {
            let (group, replica, sender, include) =
                (a.string("group")?, a.string("replica")?, a.string("sender")?, a.bool("include_sender")?);
            a.done()?;
            let plan =
                if method == "emit" { g.emit(&group, &replica, &sender, include) } else { g.broadcast(&group, &replica, &sender, include) };
            plan.map_err(err).and_then(|p| ok(views::deliveries(&p)))
        }
        "whisper" => {
            let (group, replica, sender, target) = (a.string("group")?, a.string("replica")?, a.string("sender")?, a.string("target")?);
            a.done()?;
            g.whisper(&group, &replica, &sender, &target).map_err(err).and_then(|p| ok(views::deliveries(&p)))
        }
        "replica" | "connections" => {
            let replica = a.string("replica")?;
            a.done()?;
            if method == "replica" {
                ok(g.replica(&replica).map(|r| views::replica_view(&r)))
            } else {
                ok(g.connections(&replica).map(|c| views::connections(&c)))
            }
        }
        "sticky" => {
            let req = a.string("request id")?;
            a.done()?;
            ok(g.sticky(&req))
        }
        other => {
            a.done()?;
            match other {
                "poll_output" => ok(g.poll_output().map(|o| views::gateway_output(&o))),
                "poll_timeout" => ok(g.poll_timeout().map(Timestamp::as_millis)),
                "next_deadline" => ok(g.next_deadline().map(views::deadline)),
                "take_state_changed" => ok(g.take_state_changed()),
                "group" => ok(g.group()),
                "replicas" => ok(views::replica_views(&g.replicas())),
                "request_ids" => ok(g.request_ids()),
                "reservations" => ok(views::reservation_views(&g.reservations())),
                "pending_creations" => ok(views::pending_creations(&g.pending_creations())),
                "gossips" => ok(Value::List(g.gossips().into_iter().map(|id| Value::from(id.raw())).collect())),
                "current" => ok(g.current()),
                "stats" => ok(views::gateway_stats(g.stats())),
                "take_changes" => ok(views::gateway_row_ops(&g.take_changes())),
                "rows" => ok(views::gateway_row_ops(&g.rows())),
                _ => return Err(format!("Gateway has no method {other:?}")),
            }
        }
    })
}
