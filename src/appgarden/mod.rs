//! Running an extension as App Garden would (issue 22): the ONE place that does it. `kz test`'s
//! health check uses it now; a future `kz dev` starts the same deployment and keeps it up.
//!
//! * [`plan`]: from the extension's files, the containers App Garden would start (the App
//!   Garden compose file's services with the images kz builds, env_defaults with the guide's
//!   placeholders substituted, the variables the platform injects) and the primary service;
//! * [`start`]: those containers on a network of their own, the primary port published on
//!   `127.0.0.1:<free port>`, all labelled with an `exttest::Session` so `exttest::teardown`
//!   removes them (the container, network and teardown code is exttest's, shared);
//! * [`health`]: the guide's `GET /health` check from kz itself.

pub mod health;
pub mod plan;
pub mod start;

pub use health::{probe, HealthReport, ProbeOptions};
pub use plan::{plan, Container, Deployment, Platform};
pub use start::{free_port, start, Running, StartEvent};
