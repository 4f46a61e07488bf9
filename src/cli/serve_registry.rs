//! `kz serve-registry [--port 58888] [--host 0.0.0.0] [--http]`: serve
//! build/kamiwaza-extension-registry/ to a Kamiwaza instance, over HTTPS with a self-signed
//! certificate kept in build/kz-serve/ (outside the served folder). Progress and the access log
//! go to stderr; the two lines to paste into Kamiwaza's env.sh go to stdout. Ctrl-C (or SIGTERM)
//! stops it gracefully with exit 0.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::registry::OUTPUT_DIR;
use crate::serve::{self, CertAction, Server};
use crate::workspace::Workspace;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 58888)]
    port: u16,
    /// Address or host name to listen on (0.0.0.0: every interface).
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// Also serve this file, which the secret-file policy leaves out (a path inside
    /// build/kamiwaza-extension-registry/; repeatable). `.env` files and private keys never are.
    #[arg(long = "allow", value_name = "PATH")]
    allow: Vec<String>,
    /// Refuse to start unless the built folder holds this catalogue layout (garden/v3, v2 or
    /// default); default: kz.yaml `catalogue.repo_version`, else whatever is built.
    #[arg(long, value_enum)]
    repo_version: Option<super::build_registry::Layout>,
}

/// An error unless `registry` holds a catalogue of layout `rv` (`garden/<dir>/apps.json` or
/// `tools.json`).
pub(crate) fn require_layout(
    registry: &Path,
    rv: crate::registry::RepoVersion,
) -> Result<(), Error> {
    let garden = registry.join("garden").join(rv.garden_dir());
    if ["apps.json", "tools.json"]
        .iter()
        .any(|f| garden.join(f).is_file())
    {
        return Ok(());
    }
    Err(Error::BadArgument {
        message: format!("{} holds no {rv} catalogue", registry.display()),
        hint: format!("build it with `kz build-registry --repo-version {rv}`"),
    })
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    crate::util::secret_files::set_allowed(&args.allow);
    // Dotted numbers that are not an IPv4 address (256.1.1.1) are a typo, not a host name.
    if args.host.chars().all(|c| c.is_ascii_digit() || c == '.')
        && args.host.parse::<std::net::Ipv4Addr>().is_err()
    {
        return Err(Error::Usage {
            message: format!("--host {}: not an IPv4 address", args.host),
        });
    }
    let ws = Workspace::discover(&ctx.cwd)?;
    let registry = ws.root.join(OUTPUT_DIR);
    if !registry.is_dir() {
        return Err(Error::NoRegistry { path: registry });
    }
    let wanted = match args.repo_version {
        Some(layout) => Some(layout.repo_version()),
        None => crate::settings::Settings::load(&ws.root, &ctx.env)?.repo_version,
    };
    if let Some(rv) = wanted {
        require_layout(&registry, rv)?;
    }
    let tls = if args.http {
        None
    } else {
        let names = serve::certificate_names(&args.host);
        let (tls, info) = serve::load_or_create(&serve::cert_dir(&ws.root), &names)?;
        let cert = rel(&ws.root, &info.cert);
        match info.action {
            CertAction::Reused => ctx.out.status(&format!("Using certificate {cert}")),
            CertAction::Created => ctx.out.done(
                "Created",
                &format!("self-signed certificate {cert} for {}", names.join(", ")),
            ),
            CertAction::Replaced(why) => ctx.out.done(
                "Replaced",
                &format!("certificate {cert} ({why}) for {}", names.join(", ")),
            ),
        }
        Some(tls)
    };
    let runtime = super::runtime()?;
    let result = runtime.block_on(async {
        // listen for the signals before announcing the server, so an early Ctrl-C stops it too
        let stop = super::stop_signal()?;
        let server = Server::bind(&registry, &args.host, args.port, tls).await?;
        announce(ctx, &ws.root, &server, &args.host);
        let out = ctx.out;
        let server = server.with_access_log(move |a| {
            out.status(&format!(
                "{} {} {} {}",
                a.peer.ip(),
                a.method,
                a.target,
                a.status
            ));
        });
        server.run(stop).await;
        Ok::<_, Error>(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result?;
    ctx.out.status("Stopped.");
    Ok(ExitStatus::Success)
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The URLs, the catalogue files found and the env lines (stdout) for Kamiwaza.
fn announce(ctx: &Context, root: &Path, server: &Server, host: &str) {
    let scheme = if server.is_https() { "https" } else { "http" };
    let addr = server.local_addr();
    let base = format!("{scheme}://{}", url_host(host, addr));
    ctx.out.done(
        "Serving",
        &format!(
            "{OUTPUT_DIR} over {} on {addr}",
            scheme.to_ascii_uppercase()
        ),
    );
    for (label, rel) in catalogue_files(server.root()) {
        ctx.out.status(&format!("  {label:<6} {base}/{rel}"));
    }
    if server.is_https() {
        ctx.out.note(&format!(
            "the certificate is self-signed: trust {} on the client, or let it skip verification",
            rel_cert(root)
        ));
    }
    if addr.ip().is_unspecified() {
        ctx.out.warn(&format!(
            "listening on every interface ({addr}): the catalogue is reachable from the network; \
             use --host 127.0.0.1 to keep it on this machine"
        ));
    }
    ctx.out.status("Paste into Kamiwaza's env.sh:");
    ctx.out.data("export KAMIWAZA_EXTENSION_STAGE=LOCAL");
    ctx.out.data(&format!(
        "export KAMIWAZA_EXTENSION_LOCAL_STAGE_URL=\"{base}\""
    ));
    ctx.out.status("Press Ctrl-C to stop.");
}

fn rel_cert(root: &Path) -> String {
    rel(root, &serve::cert_dir(root).join(serve::CERT_FILE))
}

/// The host to put in URLs: the one asked for, `localhost` for a wildcard bind, IPv6 in brackets.
fn url_host(host: &str, addr: SocketAddr) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = addr.port();
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => format!("localhost:{port}"),
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Ok(ip) => format!("{ip}:{port}"),
        Err(_) => format!("{bare}:{port}"),
    }
}

/// `garden/<version>/{apps,tools}.json` files present in the registry, sorted.
fn catalogue_files(registry: &Path) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(registry.join("garden")) else {
        return found;
    };
    let mut versions: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    versions.sort();
    for version in versions {
        for (label, file) in [("Apps:", "apps.json"), ("Tools:", "tools.json")] {
            if registry.join("garden").join(&version).join(file).is_file() {
                found.push((label, format!("garden/{version}/{file}")));
            }
        }
    }
    found
}
