//! `kz test`'s core: find every test suite of an extension (all frameworks present, in the root
//! and in each service folder), then run each in a fresh container of the service's image on a
//! network made for the run, with the services it depends on started beside it, and tear
//! everything down by label afterwards, whatever happened. It never prints: the caller gets
//! [`Event`]s as the run goes and an [`ExtensionReport`] per extension.
//!
//! * [`detect`]: frameworks in a folder (pure file checks);
//! * [`compose`]: what a run needs from docker-compose.yml;
//! * [`plan`]: an extension's suites and the service whose image runs each;
//! * [`run`]: the engine side (dependencies, the test container, output, outcome);
//! * [`session`]: the run's id and labels, and [`teardown`].

pub mod compose;
pub(crate) mod containers;
pub mod detect;
pub mod plan;
pub mod run;
mod script;
pub mod session;
mod upload;

pub use detect::Framework;
pub use plan::{plan, Built, ExtensionPlan, Suite};
pub use run::{Event, ExtensionReport, Outcome, RunOptions, Runner, SuiteResult};
pub use session::{teardown, Session, Teardown};
