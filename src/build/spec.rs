//! A compose `build:` value read per the compose specification: context, dockerfile,
//! dockerfile_inline, args (map or list), target, labels, secrets (file and environment sources,
//! from the file's top-level `secrets:`), ssh, cache_from, network, extra_hosts, shm_size,
//! platforms, tags. Strings are interpolated as compose does (`${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?error}`, `$$`) from the environment and `.env`. A field kz cannot
//! honour is an error naming its line, never dropped.

use super::{BuildExtra, BuildSecret, BuildSsh, SecretBytes, SecretFrom};
use crate::settings::Settings;
use crate::yaml::{Node, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub(super) enum SpecDockerfile {
    Path(String),
    Inline(String),
}

/// A compose `build:` value.
pub(super) struct Spec {
    pub context: String,
    pub dockerfile: SpecDockerfile,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub extra: BuildExtra,
}

/// An error at a line of the compose file.
type Fail = (u32, String);

/// Fields of the compose specification kz does not honour (an error, not a silent drop).
const NOT_HONOURED: &[&str] = &[
    "additional_contexts",
    "cache_to",
    "entitlements",
    "isolation",
    "no_cache",
    "privileged",
    "pull",
    "ulimits",
];

impl Spec {
    /// `node` is the `build:` value; `secrets_top` the file's top-level `secrets:`; `base` the
    /// compose file's folder (secret files are relative to it).
    pub(super) fn parse(
        node: &Node,
        settings: &Settings,
        secrets_top: Option<&Node>,
        base: &Path,
    ) -> Result<Spec, Fail> {
        let mut spec = Spec {
            context: ".".to_owned(),
            dockerfile: SpecDockerfile::Path("Dockerfile".to_owned()),
            args: BTreeMap::new(),
            target: None,
            extra: BuildExtra::default(),
        };
        let line = node.mark.line;
        let text = |n: &Node, what: &str| -> Result<String, Fail> {
            let raw = scalar(n).ok_or((n.mark.line, format!("`build.{what}` must be a string")))?;
            interpolate(&raw, settings).map_err(|m| (n.mark.line, format!("`build.{what}`: {m}")))
        };
        match &node.value {
            Value::Str(_) => spec.context = text(node, "context")?,
            Value::Map(items) => {
                for (k, v) in items {
                    let key = k.as_str().unwrap_or_default();
                    let at = v.mark.line;
                    match key {
                        "context" => spec.context = text(v, key)?,
                        "dockerfile" => spec.dockerfile = SpecDockerfile::Path(text(v, key)?),
                        "dockerfile_inline" => {
                            spec.dockerfile = SpecDockerfile::Inline(text(v, key)?)
                        }
                        "target" => spec.target = Some(text(v, key)?),
                        "args" => spec.args = pairs(v, settings, "args", true)?,
                        "labels" => spec.extra.labels = pairs(v, settings, "labels", false)?,
                        "secrets" => spec.extra.secrets = secrets(v, settings, secrets_top, base)?,
                        "ssh" => spec.extra.ssh = ssh(v, settings)?,
                        "cache_from" => {
                            for item in list(v, key)? {
                                let r = text(item, key)?;
                                if r.contains('=') {
                                    return Err((
                                        item.mark.line,
                                        format!(
                                            "`build.cache_from` entry `{r}`: kz takes image \
                                             references only (the engine's API has no cache \
                                             importers)"
                                        ),
                                    ));
                                }
                                spec.extra.cache_from.push(r);
                            }
                        }
                        "network" => {
                            let n = text(v, key)?;
                            if !matches!(n.as_str(), "default" | "none" | "host") {
                                return Err((
                                    at,
                                    format!(
                                        "`build.network: {n}`: a build can use `default`, `none` \
                                         or `host`"
                                    ),
                                ));
                            }
                            spec.extra.network = Some(n);
                        }
                        "extra_hosts" => {
                            if let Value::Seq(items) = &v.value {
                                // The list form is `host:ip` (or `host=ip`).
                                for item in items {
                                    let t = text(item, key)?;
                                    let t = match t.split_once('=') {
                                        Some((h, ip)) => format!("{h}:{ip}"),
                                        None => t,
                                    };
                                    spec.extra.extra_hosts.push(t);
                                }
                            } else {
                                for (h, ip) in pairs(v, settings, key, false)? {
                                    spec.extra.extra_hosts.push(format!("{h}:{ip}"));
                                }
                            }
                        }
                        "shm_size" => {
                            let t = text(v, key)?;
                            spec.extra.shm_size = Some(
                                bytes(&t)
                                    .ok_or((at, format!("`build.shm_size: {t}` is not a size")))?,
                            );
                        }
                        "platforms" => {
                            for item in list(v, key)? {
                                spec.extra.platforms.push(text(item, key)?);
                            }
                            if spec.extra.platforms.len() > 1 {
                                return Err((
                                    at,
                                    "`build.platforms` lists several platforms; a local image \
                                     has one (kz publish builds each platform of its \
                                     `--platforms` into one index)"
                                        .to_owned(),
                                ));
                            }
                        }
                        "tags" => {
                            for item in list(v, key)? {
                                spec.extra.tags.push(text(item, key)?);
                            }
                        }
                        k if k.starts_with("x-") => {}
                        k if NOT_HONOURED.contains(&k) => {
                            return Err((
                                k_line(k, node).unwrap_or(at),
                                format!("`build.{k}` is not supported by kz build"),
                            ))
                        }
                        other => {
                            return Err((at, format!("unknown field `build.{other}`")));
                        }
                    }
                }
            }
            _ => {
                return Err((
                    line,
                    format!("`build` must be a string or a mapping, not {}", node.kind()),
                ))
            }
        }
        if spec.context.contains("://") || spec.context.starts_with("git@") {
            return Err((
                line,
                format!(
                    "remote build context `{}` is not supported; kz builds from the repository",
                    spec.context
                ),
            ));
        }
        Ok(spec)
    }
}

/// The line of key `k` in mapping `node`.
fn k_line(k: &str, node: &Node) -> Option<u32> {
    node.as_map()?
        .iter()
        .find(|(key, _)| key.as_str() == Some(k))
        .map(|(key, _)| key.mark.line)
}

fn list<'a>(node: &'a Node, what: &str) -> Result<&'a Vec<Node>, Fail> {
    node.as_seq()
        .ok_or((node.mark.line, format!("`build.{what}` must be a list")))
}

/// A mapping (`KEY: value`) or a list (`KEY=value`). With `from_env`, a bare `KEY` (or a null
/// value) is taken from the environment and left out when unset, as compose does.
fn pairs(
    node: &Node,
    settings: &Settings,
    what: &str,
    from_env: bool,
) -> Result<BTreeMap<String, String>, Fail> {
    let mut out = BTreeMap::new();
    let interp = |s: &str, n: &Node| {
        interpolate(s, settings).map_err(|m| (n.mark.line, format!("`build.{what}`: {m}")))
    };
    let bare = |key: String, n: &Node, out: &mut BTreeMap<String, String>| {
        if from_env {
            if let Some(v) = settings.var(&key) {
                out.insert(key, v.to_owned());
            }
            Ok(())
        } else {
            Err((n.mark.line, format!("`build.{what}.{key}` has no value")))
        }
    };
    match &node.value {
        Value::Map(items) => {
            for (k, v) in items {
                let key = scalar(k)
                    .ok_or((k.mark.line, format!("`build.{what}` keys must be strings")))?;
                if v.is_null() {
                    bare(key, v, &mut out)?;
                } else {
                    let value = scalar(v).ok_or((
                        v.mark.line,
                        format!("`build.{what}.{key}` must be a scalar"),
                    ))?;
                    out.insert(key, interp(&value, v)?);
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                let text = scalar(item).ok_or((
                    item.mark.line,
                    format!("`build.{what}` items must be strings"),
                ))?;
                match text.split_once('=') {
                    Some((k, v)) => {
                        out.insert(k.to_owned(), interp(v, item)?);
                    }
                    None => bare(text, item, &mut out)?,
                }
            }
        }
        Value::Null => {}
        _ => {
            return Err((
                node.mark.line,
                format!("`build.{what}` must be a mapping or a list"),
            ))
        }
    }
    Ok(out)
}

/// `build.secrets`: names (or `{source, target}`) of the file's top-level secrets, each a
/// `file:` (relative to the compose file) or an `environment:` variable.
fn secrets(
    node: &Node,
    settings: &Settings,
    top: Option<&Node>,
    base: &Path,
) -> Result<Vec<BuildSecret>, Fail> {
    let mut out = Vec::new();
    for item in list(node, "secrets")? {
        let at = item.mark.line;
        let (source, id) = match &item.value {
            Value::Map(_) => {
                for (k, _) in item.as_map().into_iter().flatten() {
                    let k = k.as_str().unwrap_or_default();
                    if !matches!(k, "source" | "target") {
                        return Err((
                            at,
                            format!("`build.secrets[].{k}` is not supported by kz build"),
                        ));
                    }
                }
                let source = item
                    .get("source")
                    .and_then(scalar)
                    .ok_or((at, "`build.secrets[]` needs a `source`".to_owned()))?;
                let id = item
                    .get("target")
                    .and_then(scalar)
                    .unwrap_or(source.clone());
                (source, id)
            }
            _ => {
                let s =
                    scalar(item).ok_or((at, "`build.secrets` items must be names".to_owned()))?;
                (s.clone(), s)
            }
        };
        let def = top.and_then(|t| t.get(&source)).ok_or((
            at,
            format!("secret `{source}` is not defined under the top-level `secrets:`"),
        ))?;
        let from = if let Some(f) = def.get("file").and_then(scalar) {
            let f = interpolate(&f, settings).map_err(|m| (def.mark.line, m))?;
            let path = base.join(&f);
            if !path.is_file() {
                return Err((
                    def.mark.line,
                    format!("secret `{source}`: file `{f}` not found"),
                ));
            }
            SecretFrom::File(path)
        } else if let Some(var) = def.get("environment").and_then(scalar) {
            let value = settings.var(&var).ok_or((
                def.mark.line,
                format!("secret `{source}`: the environment variable `{var}` is not set"),
            ))?;
            SecretFrom::Value(SecretBytes(value.as_bytes().to_vec()))
        } else {
            return Err((
                def.mark.line,
                format!("secret `{source}`: kz build takes `file:` or `environment:` secrets"),
            ));
        };
        out.push(BuildSecret { id, from });
    }
    Ok(out)
}

/// `build.ssh`: `default` (the agent at `SSH_AUTH_SOCK`) or `id=/path/to/agent.sock`.
fn ssh(node: &Node, settings: &Settings) -> Result<Vec<BuildSsh>, Fail> {
    let mut out = Vec::new();
    let entries: Vec<(String, Option<String>, u32)> = match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|i| {
                let t = scalar(i).unwrap_or_default();
                match t.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned()), i.mark.line),
                    None => (t, None, i.mark.line),
                }
            })
            .collect(),
        Value::Map(items) => items
            .iter()
            .map(|(k, v)| (scalar(k).unwrap_or_default(), scalar(v), v.mark.line))
            .collect(),
        _ => {
            return Err((
                node.mark.line,
                "`build.ssh` must be a list or a mapping".into(),
            ))
        }
    };
    for (id, path, at) in entries {
        let path = match path {
            Some(p) => interpolate(&p, settings).map_err(|m| (at, m))?,
            None => settings
                .var("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .ok_or((
                    at,
                    format!(
                        "`build.ssh: {id}` forwards the SSH agent, and SSH_AUTH_SOCK is not set"
                    ),
                ))?
                .to_owned(),
        };
        if !is_socket(Path::new(&path)) {
            return Err((
                at,
                format!(
                    "`build.ssh: {id}`: `{path}` is not an agent socket (kz forwards SSH agents, \
                     not key files)"
                ),
            ));
        }
        out.push(BuildSsh {
            id,
            socket: path.into(),
        });
    }
    Ok(out)
}

#[cfg(unix)]
fn is_socket(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

#[cfg(not(unix))]
fn is_socket(_: &Path) -> bool {
    false
}

/// `2gb`, `512m`, `1048576` → bytes.
fn bytes(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[digits.len()..];
    let n: u64 = digits.trim().parse().ok()?;
    let mult = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A scalar as compose (Go) reads it: booleans are `true`/`false`.
pub(super) fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
        _ => node.py_str(),
    }
}

/// Compose interpolation from `settings` (the environment over `.env`).
pub(super) fn interpolate(s: &str, settings: &Settings) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let end = r
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
            out.push_str(&expand(&r[..end], settings)?);
            rest = &r[end + 1..];
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(settings.var(&after[..n]).unwrap_or(""));
            }
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The inside of `${…}`.
fn expand(inner: &str, settings: &Settings) -> Result<String, String> {
    let n = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, op) = inner.split_at(n);
    let value = settings.var(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    Ok(match op {
        "" => value.unwrap_or("").to_owned(),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                value.unwrap_or("").to_owned()
            } else {
                interpolate(&op[2..], settings)?
            }
        }
        _ if op.starts_with('-') => match value {
            Some(v) => v.to_owned(),
            None => interpolate(&op[1..], settings)?,
        },
        _ if op.starts_with(":?") || op.starts_with('?') => {
            let ok = if op.starts_with(':') {
                set_nonempty
            } else {
                value.is_some()
            };
            if !ok {
                let msg = op.trim_start_matches(':').trim_start_matches('?');
                return Err(format!(
                    "required variable `{name}` is missing a value: {msg}"
                ));
            }
            value.unwrap_or("").to_owned()
        }
        _ if op.starts_with(":+") => {
            if set_nonempty {
                interpolate(&op[2..], settings)?
            } else {
                String::new()
            }
        }
        _ if op.starts_with('+') => {
            if value.is_some() {
                interpolate(&op[1..], settings)?
            } else {
                String::new()
            }
        }
        _ => return Err(format!("invalid interpolation `${{{inner}}}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn load(t: &str) -> Node {
        yaml::load(t, &yaml::LoadLimits::default())
            .expect("yaml")
            .expect("doc")
    }

    fn settings() -> Settings {
        let mut s = Settings::default();
        s.vars.insert("PY".into(), "3.12".into());
        s.vars.insert("TOKEN".into(), "s3cr3t".into());
        s.vars.insert("EMPTY".into(), String::new());
        s
    }

    #[test]
    fn build_values() {
        let settings = settings();
        let parse = |t: &str| Spec::parse(&load(t), &settings, None, Path::new("/x"));
        let s = parse("./backend").map_err(|e| e.1).expect("string form");
        assert_eq!(s.context, "./backend");
        let s = parse(
            "context: api\ndockerfile: docker/Dockerfile.prod\ntarget: runtime\n\
             args: {A: 1, B: true, C: x, V: \"${PY}\", D: \"${NOPE:-dflt}\"}\n\
             labels: [a=1]\nnetwork: host\nextra_hosts: [\"db:10.0.0.2\", \"c=10.0.0.3\"]\n\
             shm_size: 2gb\n\
             tags: [x/y:2]\ncache_from: [x/y:1]\nplatforms: [linux/amd64]\n",
        )
        .map_err(|e| e.1)
        .expect("mapping form");
        assert_eq!(s.context, "api");
        assert!(
            matches!(s.dockerfile, SpecDockerfile::Path(ref d) if d == "docker/Dockerfile.prod")
        );
        assert_eq!(s.target.as_deref(), Some("runtime"));
        let args: Vec<String> = s.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(args, ["A=1", "B=true", "C=x", "D=dflt", "V=3.12"]);
        assert_eq!(s.extra.labels.get("a").map(String::as_str), Some("1"));
        assert_eq!(s.extra.network.as_deref(), Some("host"));
        assert_eq!(s.extra.extra_hosts, ["db:10.0.0.2", "c:10.0.0.3"]);
        assert_eq!(s.extra.shm_size, Some(2 << 30));
        assert_eq!(s.extra.tags, ["x/y:2"]);
        assert_eq!(s.extra.cache_from, ["x/y:1"]);
        let l = parse("args: [X=1, NOT_SET_ANYWHERE_KZ, PY]\n")
            .map_err(|e| e.1)
            .expect("list");
        assert_eq!(l.args.len(), 2);
        assert!(parse("[a]").is_err());
        assert!(parse("https://github.com/x/y.git").is_err());
    }

    #[test]
    fn fields_kz_cannot_honour_name_their_line() {
        let settings = settings();
        let parse = |t: &str| Spec::parse(&load(t), &settings, None, Path::new("/x"));
        let e = parse("context: .\nadditional_contexts:\n  a: ../a\n")
            .err()
            .expect("refused");
        assert_eq!(e.0, 2);
        assert!(e.1.contains("additional_contexts"), "{}", e.1);
        let e = parse("context: .\nfoo: 1\n").err().expect("refused");
        assert!(e.1.contains("unknown field `build.foo`"), "{}", e.1);
        let e = parse("network: bridge0\n").err().expect("refused");
        assert!(e.1.contains("default"), "{}", e.1);
        let e = parse("platforms: [linux/amd64, linux/arm64]\n")
            .err()
            .expect("refused");
        assert!(e.1.contains("several platforms"), "{}", e.1);
        let e = parse("secrets: [tok]\n").err().expect("undefined secret");
        assert!(e.1.contains("top-level"), "{}", e.1);
    }

    #[test]
    fn secrets_from_the_environment_never_show() {
        let settings = settings();
        let top = load("tok:\n  environment: TOKEN\n");
        let s = Spec::parse(
            &load("secrets: [tok]\n"),
            &settings,
            Some(&top),
            Path::new("/x"),
        )
        .map_err(|e| e.1)
        .expect("secret");
        assert_eq!(s.extra.secrets.len(), 1);
        assert_eq!(s.extra.secrets[0].id, "tok");
        assert!(!format!("{:?}", s.extra).contains("s3cr3t"));
    }

    #[test]
    fn interpolation_as_compose() {
        let s = settings();
        assert_eq!(
            interpolate("${PY}-${EMPTY:-e}-${EMPTY-e}-$$-$PY", &s).as_deref(),
            Ok("3.12-e--$-3.12")
        );
        assert_eq!(interpolate("${NOPE:+x}${PY:+y}", &s).as_deref(), Ok("y"));
        assert!(interpolate("${NOPE:?set it}", &s).is_err());
        assert!(interpolate("${PY", &s).is_err());
    }
}
