//! The small types every layer shares: Juju's names and ids, workload status, storage kinds,
//! and the error a value that does not parse gives.
//!
//! They sit at the bottom, under the hook tools, so that the context, events and the model use
//! them without reaching into the tool layer. The public API re-exports them where a charm
//! author meets them (`charmkit::hookcmd`, the prelude).

mod ids;
mod parse;
mod status;
mod storage;

pub use ids::{app_of, canonical_secret_id, RelationId};
pub(crate) use parse::json_kind;
pub use parse::ParseError;
pub use status::{Status, StatusName};
pub use storage::StorageKind;
