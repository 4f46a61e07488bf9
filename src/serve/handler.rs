//! One request, one response. GET and HEAD serve a file of the registry folder, OPTIONS answers
//! a CORS preflight with an empty 200, other methods get 405. Every response carries the
//! reference's three CORS headers, so a browser-based Kamiwaza UI can read the catalogue.

use super::body::{self, Body};
use super::content_type::content_type;
use super::paths::{self, Refusal};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// The CORS headers of the reference server, on every response.
const CORS: [(&str, &str); 3] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, OPTIONS"),
    ("access-control-allow-headers", "Content-Type"),
];

/// The response to `method` on the raw request path `path` (before `?`), serving from `root`
/// (canonical).
pub(crate) async fn respond(root: &Arc<Path>, method: &Method, path: &str) -> Response<Body> {
    let mut response = match *method {
        Method::OPTIONS => plain(StatusCode::OK, body::empty()),
        Method::GET | Method::HEAD => serve_file(root, path, *method == Method::HEAD).await,
        _ => {
            let mut r = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                body::text("method not allowed\n"),
            );
            r.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
            r
        }
    };
    common_headers(response.headers_mut());
    response
}

fn common_headers(headers: &mut HeaderMap) {
    for (name, value) in CORS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn plain(status: StatusCode, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if status != StatusCode::OK {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    r
}

fn refusal(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::BadRequest => plain(StatusCode::BAD_REQUEST, body::text("bad request\n")),
        Refusal::NotFound => plain(StatusCode::NOT_FOUND, body::text("not found\n")),
    }
}

/// An opened file with the length and time of the opened handle (not of the path: the file may
/// be replaced between the check and the open).
struct Opened {
    file: std::fs::File,
    len: u64,
    modified: Option<SystemTime>,
    path: std::path::PathBuf,
}

async fn serve_file(root: &Arc<Path>, path: &str, head_only: bool) -> Response<Body> {
    let root = Arc::clone(root);
    let raw = path.to_owned();
    // canonicalize, metadata and the secret check are blocking file-system calls
    let opened = tokio::task::spawn_blocking(move || -> Result<Opened, Refusal> {
        let path = paths::resolve(&root, &raw)?;
        let file = std::fs::File::open(&path).map_err(|_| Refusal::NotFound)?;
        let meta = file.metadata().map_err(|_| Refusal::NotFound)?;
        if !meta.is_file() {
            return Err(Refusal::NotFound);
        }
        Ok(Opened {
            file,
            len: meta.len(),
            modified: meta.modified().ok(),
            path,
        })
    })
    .await;
    let opened = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(r)) => return refusal(r),
        Err(_) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                body::text("internal error\n"),
            )
        }
    };
    let body = if head_only {
        body::empty()
    } else {
        body::file(tokio::fs::File::from_std(opened.file), opened.len)
    };
    let mut response = plain(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&opened.path)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(opened.len));
    if let Some(date) = opened.modified.and_then(http_date) {
        headers.insert(header::LAST_MODIFIED, date);
    }
    response
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as HTTP dates are written.
fn http_date(time: SystemTime) -> Option<HeaderValue> {
    let ts = jiff::Timestamp::try_from(time).ok()?;
    HeaderValue::from_str(&ts.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::http_date;
    use std::time::{Duration, SystemTime};

    #[test]
    fn dates_are_imf_fixdate() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            http_date(t).expect("date").to_str().expect("ascii"),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
