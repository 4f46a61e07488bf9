//! The engine lane (`--features engine-tests`): tests on a real Docker engine, a real
//! docker-registry and the test setup's base images, wheelhouse and tools. Each fails when the
//! engine or an artefact is missing.

pub(crate) mod build;
mod changed_ci;
mod ci_pipeline;
mod exttest;
mod oci;
mod package_images;
mod package_libs;
mod publish;
pub(crate) mod regserver;
mod synapse_engine;
mod synapse_flow;
pub(crate) mod synapse_registry;
