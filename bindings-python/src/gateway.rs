//! `shardtally.Gateway`: routes request ids to replicas under a connection limit (DOG).
//! Method list and argument conversions only; the run-loop methods come from `run_loop!`,
//! settings from `shardtally_api::options`, results from `shardtally_api::views`.

use crate::convert::{self, int, options, text, Millis};
use crate::lock::Locked;
use crate::machine::{self, outputs, run_loop, settings_config};
use crate::value::{raise, record, to_py};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shardtally::{CreationId, Gateway, GossipId};
use shardtally_api::{options as api, views, Naming, Value};

/// Routes request ids to replicas under a connection limit and plans messages between them.
#[pyclass(frozen, module = "shardtally", name = "Gateway")]
pub(crate) struct PyGateway {
    inner: Locked<Gateway>,
}

settings_config!(PyGateway);
run_loop!(PyGateway);
outputs!(PyGateway);

/// Any Python argument or result.
type Obj<'py> = Bound<'py, PyAny>;
/// `Gateway::emit` or `Gateway::broadcast`.
type Plan = fn(&Gateway, &str, &str, &str, bool) -> Result<Vec<shardtally::Delivery>, shardtally::Error>;

#[pymethods]
impl PyGateway {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let gateway = api::new_gateway(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyGateway { inner: Locked::new(gateway) })
    }

    /// Restores a gateway from `snapshot()` bytes with its settings (the group is in the
    /// snapshot).
    #[staticmethod]
    #[pyo3(signature = (snapshot, **settings))]
    fn restore(snapshot: &Obj<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let gateway = machine::restore(snapshot, settings, |b, o| api::restore_gateway(Naming::Snake, b, o))?;
        Ok(PyGateway { inner: Locked::new(gateway) })
    }

    /// Rebuilds a gateway from the `(table, value)` pairs a host stored by applying its
    /// `RowOp`s, in any order, and its settings (the group is in the `meta` row).
    #[staticmethod]
    #[pyo3(signature = (rows, **settings))]
    fn from_rows(py: Python<'_>, rows: &Obj<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let (rows, options) = (convert::stored_rows(rows)?, options(settings)?);
        let gateway = py.detach(|| api::gateway_from_rows(Naming::Snake, rows, &options)).map_err(|e| raise(py, e))?;
        Ok(PyGateway { inner: Locked::new(gateway) })
    }

    /// The row changes since the last call, as storage operations (`RowOp`s) in apply order.
    fn take_changes<'py>(&self, py: Python<'py>) -> PyResult<Obj<'py>> {
        let rows = self.inner.write(py).take_changes();
        to_py(py, &views::gateway_row_ops(&rows))
    }

    /// Every row of the state, as `put` operations (`RowOp`s).
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Obj<'py>> {
        let rows = self.inner.read(py).rows();
        to_py(py, &views::gateway_row_ops(&rows))
    }

    /// Where request id `request` goes: a replica (slot reserved) or a pending creation.
    fn route<'py>(&self, py: Python<'py>, request: &Obj<'_>, now_ms: Millis) -> PyResult<Obj<'py>> {
        let request = text(request, "request")?;
        let result = self.inner.write(py).route(request, now_ms.0);
        record(py, &views::route(&result.map_err(|e| raise(py, e))?))
    }

    /// The host created the replica of `creation`, with id `replica`.
    fn handle_replica_created<'py>(&self, py: Python<'py>, creation: &Obj<'_>, replica: &Obj<'_>, now_ms: Millis) -> PyResult<Obj<'py>> {
        let (creation, replica) = (CreationId::from_raw(int(creation, "creation")?), text(replica, "replica")?);
        let result = self.inner.write(py).handle_replica_created(creation, replica, now_ms.0);
        record(py, &views::placement(&result.map_err(|e| raise(py, e))?))
    }

    /// Creating the replica of `creation` failed: returns the request ids that waited for it
    /// (or `None` for an unknown creation).
    fn handle_creation_failed<'py>(&self, py: Python<'py>, creation: &Obj<'_>, now_ms: Millis) -> PyResult<Obj<'py>> {
        let creation = CreationId::from_raw(int(creation, "creation")?);
        let requests = self.inner.write(py).handle_creation_failed(creation, now_ms.0);
        to_py(py, &requests.map_or(Value::Null, |r| views::strings(&r)))
    }

    /// A replica opened connection `connection` of request id `request`.
    fn handle_connect<'py>(
        &self,
        py: Python<'py>,
        group: &Obj<'_>,
        replica: &Obj<'_>,
        connection: &Obj<'_>,
        request: &Obj<'_>,
        now_ms: Millis,
    ) -> PyResult<Obj<'py>> {
        let (group, replica) = (text(group, "group")?, text(replica, "replica")?);
        let (connection, request) = (text(connection, "connection")?, text(request, "request")?);
        let result = self.inner.write(py).handle_connect(group, replica, connection, request, now_ms.0);
        record(py, &views::connect_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// A replica closed `connection`. Returns whether it was open (a second close is a no-op).
    fn handle_close(&self, py: Python<'_>, group: &Obj<'_>, replica: &Obj<'_>, connection: &Obj<'_>, now_ms: Millis) -> PyResult<bool> {
        let (group, replica, connection) = (text(group, "group")?, text(replica, "replica")?, text(connection, "connection")?);
        let result = self.inner.write(py).handle_close(group, replica, connection, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// A replica reports its open connections: `(connection, request)` id pairs.
    fn handle_report(&self, py: Python<'_>, group: &Obj<'_>, replica: &Obj<'_>, connections: &Obj<'_>, now_ms: Millis) -> PyResult<()> {
        let (group, replica, connections) = (text(group, "group")?, text(replica, "replica")?, convert::id_pairs(connections)?);
        let result = self.inner.write(py).handle_report(group, replica, &connections, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Starts a gossip from `replica`: ask every peer, collect the replies.
    fn gossip<'py>(&self, py: Python<'py>, group: &Obj<'_>, replica: &Obj<'_>, now_ms: Millis) -> PyResult<Obj<'py>> {
        let (group, replica) = (text(group, "group")?, text(replica, "replica")?);
        let result = self.inner.write(py).gossip(group, replica, now_ms.0);
        record(py, &views::gossip_plan(&result.map_err(|e| raise(py, e))?))
    }

    /// Peer `peer` answered gossip `gossip` with `payload`. Returns whether it was awaited.
    fn handle_gossip_reply(
        &self,
        py: Python<'_>,
        group: &Obj<'_>,
        gossip: &Obj<'_>,
        peer: &Obj<'_>,
        payload: &Obj<'_>,
        now_ms: Millis,
    ) -> PyResult<bool> {
        let (group, gossip, peer) = (text(group, "group")?, GossipId::from_raw(int(gossip, "gossip")?), text(peer, "peer")?);
        let payload = convert::bytes(payload, "payload")?;
        let result = self.inner.write(py).handle_gossip_reply(group, gossip, peer, &payload, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Asking peer `peer` for gossip `gossip` failed. Returns whether it was awaited.
    fn handle_gossip_failure(&self, py: Python<'_>, group: &Obj<'_>, gossip: &Obj<'_>, peer: &Obj<'_>, now_ms: Millis) -> PyResult<bool> {
        let (group, gossip, peer) = (text(group, "group")?, GossipId::from_raw(int(gossip, "gossip")?), text(peer, "peer")?);
        let result = self.inner.write(py).handle_gossip_failure(group, gossip, peer, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// The deliveries of a message from `sender` to its own replica.
    fn emit<'py>(
        &self,
        py: Python<'py>,
        group: &Obj<'_>,
        replica: &Obj<'_>,
        sender: &Obj<'_>,
        include_sender: &Obj<'_>,
    ) -> PyResult<Obj<'py>> {
        self.plan(py, [group, replica, sender], include_sender, Gateway::emit)
    }

    /// The deliveries of a message from `sender` to every replica.
    fn broadcast<'py>(
        &self,
        py: Python<'py>,
        group: &Obj<'_>,
        replica: &Obj<'_>,
        sender: &Obj<'_>,
        include_sender: &Obj<'_>,
    ) -> PyResult<Obj<'py>> {
        self.plan(py, [group, replica, sender], include_sender, Gateway::broadcast)
    }

    /// The delivery of a message from `sender` to request id `target` (none when unknown).
    fn whisper<'py>(&self, py: Python<'py>, group: &Obj<'_>, replica: &Obj<'_>, sender: &Obj<'_>, target: &Obj<'_>) -> PyResult<Obj<'py>> {
        let (group, replica) = (text(group, "group")?, text(replica, "replica")?);
        let (sender, target) = (text(sender, "sender")?, text(target, "target")?);
        let plan = self.inner.read(py).whisper(group, replica, sender, target);
        to_py(py, &views::deliveries(&plan.map_err(|e| raise(py, e))?))
    }

    /// The group this gateway routes for.
    #[getter]
    fn group(&self, py: Python<'_>) -> String {
        self.inner.read(py).group().to_owned()
    }

    /// Every replica (`ReplicaView`), in creation order.
    fn replicas<'py>(&self, py: Python<'py>) -> PyResult<Obj<'py>> {
        let all = self.inner.read(py).replicas();
        to_py(py, &views::replica_views(&all))
    }

    /// One replica (`ReplicaView`), or `None`.
    fn replica<'py>(&self, py: Python<'py>, id: &Obj<'_>) -> PyResult<Option<Obj<'py>>> {
        let id = text(id, "id")?;
        let view = self.inner.read(py).replica(id);
        view.map(|r| record(py, &views::replica_view(&r))).transpose()
    }

    /// A replica's open connections (`Connection(connection, request)`), or `None`.
    fn connections<'py>(&self, py: Python<'py>, replica: &Obj<'_>) -> PyResult<Obj<'py>> {
        let replica = text(replica, "replica")?;
        let all = self.inner.read(py).connections(replica).map(|c| views::connections(&c));
        to_py(py, &all.unwrap_or(Value::Null))
    }

    /// The replica request id `request` sticks to, or `None`.
    fn sticky(&self, py: Python<'_>, request: &Obj<'_>) -> PyResult<Option<String>> {
        let request = text(request, "request")?;
        Ok(self.inner.read(py).sticky(request).map(str::to_owned))
    }

    /// Number of sticky request ids.
    #[getter]
    fn request_ids(&self, py: Python<'_>) -> usize {
        self.inner.read(py).request_ids()
    }

    /// Live reservations (`ReservationView`), oldest first.
    fn reservations<'py>(&self, py: Python<'py>) -> PyResult<Obj<'py>> {
        let all = self.inner.read(py).reservations();
        to_py(py, &views::reservation_views(&all))
    }

    /// Creations waiting for the host (`PendingCreation`).
    fn pending_creations<'py>(&self, py: Python<'py>) -> PyResult<Obj<'py>> {
        let all = self.inner.read(py).pending_creations();
        to_py(py, &views::pending_creations(&all))
    }

    /// Ids of the gossips in flight.
    fn gossips(&self, py: Python<'_>) -> Vec<u64> {
        self.inner.read(py).gossips().into_iter().map(GossipId::raw).collect()
    }

    /// The replica being filled, or `None`.
    #[getter]
    fn current(&self, py: Python<'_>) -> Option<String> {
        self.inner.read(py).current().map(str::to_owned)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let g = self.inner.read(py);
        format!("<Gateway group={:?} replicas={} request_ids={}>", g.group(), g.replicas().len(), g.request_ids())
    }
}

impl PyGateway {
    /// `emit` or `broadcast`: the arguments checked, the plan made, its deliveries as values.
    fn plan<'py>(
        &self,
        py: Python<'py>,
        [group, replica, sender]: [&Obj<'_>; 3],
        include_sender: &Obj<'_>,
        make: Plan,
    ) -> PyResult<Obj<'py>> {
        let (group, replica, sender) = (text(group, "group")?, text(replica, "replica")?, text(sender, "sender")?);
        let include_sender = convert::flag(include_sender, "include_sender")?;
        let plan = make(&self.inner.read(py), group, replica, sender, include_sender);
        to_py(py, &views::deliveries(&plan.map_err(|e| raise(py, e))?))
    }
}
