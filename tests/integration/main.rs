//! The integration suite: runs the real `kz` binary on fixture trees and compares with golden
//! files (tests/golden).
//!
//! Lanes (README, "Testing"): the modules at this level need nothing but a Rust toolchain and
//! run on a fresh clone. The lane modules are compiled only with their Cargo feature, and each of
//! their tests fails, never skips, when what it needs is missing:
//!
//! * `engine` (`--features engine-tests`): a Docker engine, docker-registry and the artefacts
//!   scripts/engine-setup.sh makes under [`harness::ci_dir`];
//! * `s3` (`--features s3-tests`): moto's S3 server from the test setup;
//! * `compat` (`--features compat-tests`): the reference outputs in `$KZ_COMPAT_CORPUS`.

mod bad_input;
mod changed;
mod clean;
mod harness;
mod help;
mod json_shapes;
mod kamiwaza;
mod new;
mod package;
mod registry;
mod serve;
mod synapse;
mod sync_compose;
mod validate;
mod version_and_list;

#[cfg(feature = "compat-tests")]
mod compat;
#[cfg(feature = "engine-tests")]
mod engine;
#[cfg(feature = "s3-tests")]
mod s3;
