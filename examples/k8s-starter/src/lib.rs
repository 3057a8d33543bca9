//! A Kubernetes sidecar charm on charmkit. Start reading at [`charm`].
#![forbid(unsafe_code)]

pub mod charm;

pub use charm::K8sStarter;
