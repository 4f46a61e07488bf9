//! The engine lane (`--features engine-tests`): tests on a real Docker engine, a real
//! docker-registry and the test setup's base images, wheelhouse and tools. Each fails when the
//! engine or an artefact is missing.

pub(crate) mod build;
mod build_network;
mod buildkit;
mod changed_ci;
mod ci_pipeline;
mod completions;
mod doctor;
pub(crate) mod exttest;
mod health;
mod oci;
mod package_images;
mod package_libs;
mod publish;
mod quickstart;
pub(crate) mod regserver;
mod scaffolds;
pub(crate) mod synapse_engine;
mod synapse_flow;
pub(crate) mod synapse_registry;
