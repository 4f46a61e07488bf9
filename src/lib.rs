//! kz: one binary that builds, validates, catalogues and publishes Kamiwaza extensions.
//!
//! The library is the core: it never prints, never reads the process environment and never exits.
//! `src/cli` is the only layer that talks to the terminal.

pub mod build;
pub mod bump;
pub mod changes;
pub mod clean;
pub mod cli;
pub mod compose;
pub mod docker;
pub mod dockerignore;
pub mod error;
pub mod exit;
pub mod exttest;
pub mod fsx;
pub mod imageref;
pub mod kamiwaza;
pub mod libs;
pub mod manifest;
pub mod oci;
pub mod package;
pub mod par;
pub mod pipeline;
pub mod publish;
pub mod registry;
pub mod scaffold;
pub mod secret;
pub mod serve;
pub mod settings;
pub mod synapse;
pub mod sync;
pub mod validate;
pub mod workspace;
pub mod yaml;
