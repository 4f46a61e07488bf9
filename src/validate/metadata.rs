//! (being written)

use super::Sink;
use crate::settings::Settings;

pub(crate) fn check(_sink: &mut Sink<'_>, _settings: &Settings) {}
