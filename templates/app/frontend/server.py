"""{{title}} frontend: the app's single entry point, as the guide's proxy pattern has it.

Serves the static files of /srv, answers GET /health (checking the backend), and forwards
/api/* to the backend by service name, so the backend publishes no port of its own.
"""

import json
import os
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

BACKEND_URL = os.environ.get("BACKEND_URL", "http://backend:8000").rstrip("/")


class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory="/srv", **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self.path == "/health":
            self._health()
        elif self._is_api():
            self._proxy()
        else:
            super().do_GET()

    def do_POST(self) -> None:  # noqa: N802
        self._proxy() if self._is_api() else self._send(404, b'{"error": "not found"}')

    do_PUT = do_POST
    do_PATCH = do_POST
    do_DELETE = do_POST

    def _is_api(self) -> bool:
        return self.path == "/api" or self.path.startswith("/api/")

    def _health(self) -> None:
        try:
            with urllib.request.urlopen(BACKEND_URL + "/health", timeout=0.5) as resp:
                backend = "ok" if resp.status == 200 else f"status {resp.status}"
        except (OSError, urllib.error.URLError) as e:
            backend = f"unreachable: {e}"
        healthy = backend == "ok"
        body = {"status": "healthy" if healthy else "degraded", "checks": {"backend": backend}}
        self._send(200 if healthy else 503, json.dumps(body).encode())

    def _proxy(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        target = BACKEND_URL + (self.path[len("/api"):] or "/")
        request = urllib.request.Request(target, data=data, method=self.command)
        if self.headers.get("Content-Type"):
            request.add_header("Content-Type", self.headers["Content-Type"])
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                status, body, kind = resp.status, resp.read(), resp.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, body, kind = e.code, e.read(), e.headers.get("Content-Type")
        except OSError as e:
            status, body, kind = 502, json.dumps({"error": f"backend: {e}"}).encode(), None
        self._send(status, body, kind or "application/json")

    def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
