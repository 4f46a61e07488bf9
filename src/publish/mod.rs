//! `kz publish`: a stage's images to their registry ([`images`]: plan, then build and push per
//! platform with an OCI index), then the stage's catalogue. Images go first, so a catalogue
//! never names an image that is not there; [`pins`] pins its entries to the pushed digests.

pub mod catalog;
pub mod images;
pub mod pins;
pub mod promote;
