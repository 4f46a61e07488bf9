//! Publishing a Synapse app: the image `kz build` made is pushed under both of its tags,
//! `<version>` then `latest`, as publish.sh pushes them (the second push finds every blob there
//! already). The push itself is `crate::oci::push`.

use super::build::AppBuild;
use crate::docker::Engine;
use crate::error::Error;
use crate::oci::layers::LayerCache;
use crate::oci::push::{push_engine_image, PushedImage};
use crate::oci::Registry;

/// Push `app`'s two tags to `registry` (whose host is the app's REGISTRY).
pub async fn push(
    engine: &Engine,
    registry: &Registry,
    app: &AppBuild,
) -> Result<Vec<PushedImage>, Error> {
    let mut pushed = Vec::new();
    // In memory: the second tag finds the layers the first one compressed.
    let layers = LayerCache::default();
    for reference in [&app.reference, &app.latest] {
        let rest = reference
            .strip_prefix(&format!("{}/", registry.host()))
            .unwrap_or(reference);
        let (repo, tag) = rest.rsplit_once(':').unwrap_or((rest, "latest"));
        pushed
            .push(push_engine_image(engine, reference, registry, repo, Some(tag), &layers).await?);
    }
    Ok(pushed)
}
