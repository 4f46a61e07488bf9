//! The compatibility lane (`--features compat-tests`): kz against the reference scripts' outputs
//! in the corpus folder `$KZ_COMPAT_CORPUS` names ([`crate::harness::corpus`]). Unset, missing or
//! incomplete, every test here fails.

mod corpus;
mod fixtures;
mod registry;
mod schema;
mod validate;
