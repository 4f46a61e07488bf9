//! (being written)

use super::Finding;
use crate::workspace::{Extension, Workspace};

pub(crate) fn check_workspace(_ws: &Workspace, _chosen: &[&Extension]) -> Vec<Finding> {
    Vec::new()
}
