//! The engine side of a build: look up an image's content hash, stream the context tar into
//! `POST /build` (through a bounded channel, so memory stays flat whatever the context size),
//! follow the output step by step, and set the remaining tags.

use super::context::Context;
use super::{BuildEvent, BuildOptions, BuildTarget};
use crate::docker::{engine_error, Engine, LABEL_CONTENT_HASH};
use crate::error::Error;
use crate::imageref::ImageRef;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{BuildImageOptions, TagImageOptions};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufWriter, Write};

/// Chunks sent to the engine; the channel holds a few of them at most.
const CHUNK: usize = 256 * 1024;
const CHANNEL_CHUNKS: usize = 4;

/// The id of the local image `tag` when it carries the content hash `hash`.
pub(super) async fn image_with_hash(
    engine: &Engine,
    tag: &str,
    hash: &str,
) -> Result<Option<String>, Error> {
    match engine.docker().inspect_image(tag).await {
        Ok(image) => {
            let same = image
                .config
                .as_ref()
                .and_then(|c| c.labels.as_ref())
                .and_then(|l| l.get(LABEL_CONTENT_HASH))
                .is_some_and(|h| h == hash);
            Ok(same.then_some(image.id).flatten())
        }
        Err(e) if crate::docker::is_not_found(&e) => Ok(None),
        Err(e) => Err(engine_error(format!("inspect image {tag}"), e)),
    }
}

/// Point every tag of `tags` at `id` (those already there are left alone).
pub(super) async fn ensure_tags(
    engine: &Engine,
    id: &str,
    tags: &[String],
    on_event: &(impl Fn(BuildEvent) + Send + Sync),
) -> Result<(), Error> {
    for tag in tags {
        let current = match engine.docker().inspect_image(tag).await {
            Ok(image) => image.id,
            Err(e) if crate::docker::is_not_found(&e) => None,
            Err(e) => return Err(engine_error(format!("inspect image {tag}"), e)),
        };
        if current.as_deref() == Some(id) {
            continue;
        }
        let r = ImageRef::parse(tag);
        let repo = match &r.registry {
            Some(reg) => format!("{reg}/{}", r.repository),
            None => r.repository.clone(),
        };
        let opts = TagImageOptions {
            repo: Some(repo),
            tag: Some(r.tag.clone().unwrap_or_else(|| "latest".to_owned())),
        };
        engine
            .docker()
            .tag_image(id, Some(opts))
            .await
            .map_err(|e| engine_error(format!("tag {id} as {tag}"), e))?;
        on_event(BuildEvent::Tagged(tag.clone()));
    }
    Ok(())
}

/// Run the build; returns the new image's id.
pub(super) async fn build(
    engine: &Engine,
    target: &BuildTarget,
    opts: &BuildOptions,
    ctx: Context,
    tag: &str,
    labels: BTreeMap<String, String>,
    on_event: &(impl Fn(BuildEvent) + Send + Sync),
) -> Result<String, Error> {
    let options = BuildImageOptions {
        dockerfile: ctx.dockerfile.clone(),
        t: Some(tag.to_owned()),
        nocache: opts.no_cache,
        rm: true,
        forcerm: true,
        buildargs: Some(to_hash_map(&target.args)),
        labels: Some(to_hash_map(&labels)),
        platform: target.platform(opts).unwrap_or_default().to_owned(),
        target: target.target.clone().unwrap_or_default(),
        networkmode: opts
            .network
            .clone()
            .or_else(|| target.extra.network.clone()),
        ..BuildImageOptions::default()
    };
    let (body, writer) = tar_stream(ctx);
    let mut stream =
        engine
            .docker()
            .build_image(options, None, Some(bollard::body_try_stream(body)));
    let mut log = StepLog::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.as_deref() {
                    log.push(text, on_event);
                }
                if let Some(status) = info.status.as_deref() {
                    log.push(&format!("{status}\n"), on_event);
                }
            }
            Err(BollardError::DockerStreamError { error }) => {
                log.finish(on_event);
                return Err(log.failed(tag, error));
            }
            Err(e) => {
                // A context that could not be read is the real cause of a broken request.
                if let Ok(Err(tar_err)) = writer.await {
                    return Err(tar_err);
                }
                return Err(engine_error(format!("build {tag}"), e));
            }
        }
    }
    log.finish(on_event);
    match writer.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(e) => {
            return Err(Error::invalid(
                &target.context,
                format!("sending stopped: {e}"),
            ))
        }
    }
    let image = engine
        .docker()
        .inspect_image(tag)
        .await
        .map_err(|e| engine_error(format!("inspect the new image {tag}"), e))?;
    image
        .id
        .ok_or_else(|| Error::invalid(&target.context, format!("the engine gave {tag} no id")))
}

const EXTRA: &str = "build context";

/// The context tar as a stream of chunks, written on a blocking thread through a bounded
/// channel; the handle says whether the whole tar was written.
pub(super) fn tar_stream(
    ctx: Context,
) -> (
    impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
    tokio::task::JoinHandle<Result<(), Error>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(CHANNEL_CHUNKS);
    let writer = tokio::task::spawn_blocking(move || {
        let sink = BufWriter::with_capacity(CHUNK, ChannelWriter { tx: tx.clone() });
        let result = ctx
            .write_tar(sink)
            .and_then(|mut w| w.flush().map_err(|e| Error::read(EXTRA, e)));
        if let Err(e) = &result {
            // Make the request fail rather than send a cut tar that looks whole.
            let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
        }
        result.map(|_| ())
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (body, writer)
}

fn to_hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A `Write` that hands each buffer to the async body stream, waiting while the channel is full.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The output split into lines, with the lines of the current step kept for a failure report.
#[derive(Default)]
struct StepLog {
    partial: String,
    step: Option<String>,
    lines: Vec<String>,
}

impl StepLog {
    fn push(&mut self, text: &str, on_event: &impl Fn(BuildEvent)) {
        self.partial.push_str(text);
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.line(line.trim_end_matches(['\n', '\r']), on_event);
        }
    }

    fn finish(&mut self, on_event: &impl Fn(BuildEvent)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, on_event);
        }
    }

    fn line(&mut self, line: &str, on_event: &impl Fn(BuildEvent)) {
        if let Some((number, total, text)) = parse_step(line) {
            self.step = Some(line.to_owned());
            self.lines.clear();
            on_event(BuildEvent::Step {
                number,
                total,
                text: text.to_owned(),
            });
        } else {
            self.lines.push(line.to_owned());
            on_event(BuildEvent::Output(line.to_owned()));
        }
    }

    fn failed(self, image: &str, message: String) -> Error {
        Error::BuildFailed {
            image: image.to_owned(),
            step: self.step,
            log: self.lines,
            message: message.trim_end().to_owned(),
        }
    }
}

/// `Step 3/7 : RUN make` → (3, 7, "RUN make").
fn parse_step(line: &str) -> Option<(u32, u32, &str)> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, text) = rest.split_once(" : ")?;
    let (n, m) = counts.split_once('/')?;
    Some((n.parse().ok()?, m.parse().ok()?, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_the_failing_log() {
        let events = std::sync::Mutex::new(Vec::new());
        let on = |e: BuildEvent| events.lock().expect("lock").push(e);
        let mut log = StepLog::default();
        log.push("Step 1/2 : FROM busybox\n ---> abc\nStep 2/2 : RUN fa", &on);
        log.push("lse\n ---> Running in x\nboom", &on);
        log.finish(&on);
        let err = log.failed("x:1", "returned a non-zero code: 1\n".into());
        match err {
            Error::BuildFailed { step, log, .. } => {
                assert_eq!(step.as_deref(), Some("Step 2/2 : RUN false"));
                assert_eq!(log, [" ---> Running in x", "boom"]);
            }
            other => panic!("{other:?}"),
        }
        let ev = events.lock().expect("lock");
        assert!(ev.contains(&BuildEvent::Step {
            number: 2,
            total: 2,
            text: "RUN false".into()
        }));
        assert_eq!(parse_step("Step x/2 : a"), None);
    }
}
