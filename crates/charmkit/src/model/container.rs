//! Workload containers of a Kubernetes sidecar charm: [`Container`], the handle
//! [`Model::container`](super::Model::container) gives — the container's Pebble client, checked
//! against the metadata — and [`PebbleConnector`], how the model reaches each container's Pebble.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::error::Result;
use crate::meta::ContainerMeta;
use crate::pebble::{Client, SocketTransport, Transport};

/// How the model reaches a container's Pebble: a transport per container. The runtime uses
/// [`SocketConnector`] (wrapped by the trace core's connector, so every call
/// is a span); the test harness connects each container to its fake Pebble.
pub trait PebbleConnector {
    /// A transport to the Pebble of `container` (a container the metadata declares). An error
    /// means there is no Pebble to talk to at all — not that it is down (that is a transport
    /// whose calls fail to connect, and [`Client::can_connect`] is false).
    fn connect(&self, container: &str) -> Result<Arc<dyn Transport>>;
}

impl<T: PebbleConnector + ?Sized> PebbleConnector for std::rc::Rc<T> {
    fn connect(&self, container: &str) -> Result<Arc<dyn Transport>> {
        (**self).connect(container)
    }
}

/// The real connector: `$CHARMKIT_CONTAINERS_DIR/<container>/pebble.socket`, the directory
/// being `/charm/containers` by default (see [`Client::socket_path`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketConnector;

impl PebbleConnector for SocketConnector {
    fn connect(&self, container: &str) -> Result<Arc<dyn Transport>> {
        Ok(Arc::new(SocketTransport::new(Client::socket_path(
            container,
        ))))
    }
}

/// A workload container: its name, what the metadata declares of it, and its Pebble client.
///
/// It dereferences to the [`Client`], so every Pebble call is a method on it
/// (`container.push(..)`, `container.replan_services()`, `container.can_connect()`), as on
/// ops' `Container`. Cheap to clone. Within a dispatch every call is a span
/// (`pebble POST /v1/layers`), under the handler that makes it.
#[derive(Clone)]
pub struct Container {
    meta: ContainerMeta,
    client: Client,
}

impl Container {
    pub(crate) fn new(meta: ContainerMeta, client: Client) -> Container {
        Container { meta, client }
    }

    /// The container's name, as declared.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// What the metadata declares of it: its `oci-image` resource and its mounts.
    pub fn meta(&self) -> &ContainerMeta {
        &self.meta
    }

    /// Its Pebble client (also reached through `Deref`).
    pub fn pebble(&self) -> &Client {
        &self.client
    }
}

impl Deref for Container {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl fmt::Debug for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.meta.name)
            .field("pebble", &self.client.transport().endpoint())
            .finish()
    }
}
