//! Which Synapse app a command means: `PATH` (a folder holding synapse-app.yaml), a workspace
//! app's name (`<root>/synapse/<slug>`), `CONTEXT` from the environment (publish.sh's variable),
//! or the app folder the command runs in. Shared by build, run, stop and publish.

use super::Context;
use crate::error::Error;
use crate::synapse;
use std::path::PathBuf;

/// The app folder and how to name it, or `None` when the arguments are not about an app.
pub(crate) fn app_dir(names: &[String], ctx: &Context) -> Result<Option<(PathBuf, String)>, Error> {
    let cwd = std::path::absolute(&ctx.cwd).map_err(|e| Error::read(&ctx.cwd, e))?;
    match names {
        [] => {
            if let Some(context) = ctx.env.get("CONTEXT").filter(|c| !c.trim().is_empty()) {
                let dir = cwd.join(context);
                if !synapse::is_app_dir(&dir) {
                    return Err(Error::Usage {
                        message: format!(
                            "CONTEXT={context}: no {} in `{}`",
                            synapse::FILE_NAME,
                            dir.display()
                        ),
                    });
                }
                return Ok(Some((dir, context.trim_end_matches('/').to_owned())));
            }
            Ok(synapse::find_app_dir(&cwd).map(|dir| {
                let display = relative(&dir, &cwd);
                (dir, display)
            }))
        }
        [name] => {
            let path = cwd.join(name);
            if synapse::is_app_dir(&path) {
                return Ok(Some((path, name.trim_end_matches('/').to_owned())));
            }
            let Some(root) = crate::workspace::find_root(&cwd) else {
                return Ok(None);
            };
            let slug = name
                .strip_prefix(&format!("{}/", synapse::WORKSPACE_DIR))
                .unwrap_or(name);
            let dir = root.join(synapse::WORKSPACE_DIR).join(slug);
            Ok((!slug.contains('/') && synapse::is_app_dir(&dir)).then(|| {
                let display = relative(&dir, &cwd);
                (dir, display)
            }))
        }
        _ => Ok(None),
    }
}

fn relative(path: &std::path::Path, base: &std::path::Path) -> String {
    match path.strip_prefix(base) {
        Ok(p) if p.as_os_str().is_empty() => ".".to_owned(),
        Ok(p) => p.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// Plan the app in `dir` for build, run or publish: the manifest's errors are printed and
/// stop it; its warnings (a `REGISTRY`/`NS` disagreeing with `runtime.image` among them) are
/// printed and it goes on with `runtime.image`.
pub(crate) fn plan(
    dir: &std::path::Path,
    display: &str,
    ctx: &Context,
) -> Result<synapse::build::AppBuild, Error> {
    let target = synapse::Target::from_env(&ctx.env);
    match synapse::build::plan(dir, display, &target) {
        Ok(app) => {
            for f in &app.findings.findings {
                ctx.out
                    .warn(&format!("{}: {} [{}]", f.file, f.message, f.rule));
            }
            Ok(app)
        }
        Err(err) => {
            if let Error::ValidationFailed { report } = &err {
                super::validate::print_text(ctx, report);
            }
            Err(err)
        }
    }
}
