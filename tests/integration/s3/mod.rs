//! The S3 lane (`--features s3-tests`): `kz publish`'s catalogue half against moto's S3 server
//! (made by scripts/engine-setup.sh under [`crate::harness::ci_dir`]). Fails when it is missing.

mod catalog;
#[cfg(feature = "engine-tests")]
mod release;
