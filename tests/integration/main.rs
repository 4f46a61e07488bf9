//! The integration suite: runs the real `kz` binary on fixture trees and compares with golden
//! files (tests/golden) and with the reference's outputs (../shared/corpus/reference-outputs).

mod bad_input;
mod build;
mod catalog;
mod ci_pipeline;
mod clean;
mod corpus;
mod exttest;
mod harness;
mod kamiwaza;
mod new;
mod oci;
mod package;
mod package_images;
mod package_libs;
mod publish;
mod registry;
mod regserver;
mod release;
mod schema;
mod serve;
mod synapse;
mod synapse_engine;
mod synapse_registry;
mod sync_compose;
mod validate;
mod version_and_list;
