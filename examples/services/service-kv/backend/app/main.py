"""Service Kv backend: a small HTTP API with the /health endpoint App Garden polls."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def health() -> dict:
    return {"status": "healthy"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self.path in ("/health", "/api/health"):
            self._json(200, health())
        else:
            self._json(404, {"error": "not found"})

    def _json(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
