"""{{title}}: a FastAPI app. root_path only shapes generated URLs (docs, OpenAPI, url_for);
the proxy strips the prefix, so routes stay relative."""

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

app = FastAPI(title="{{title}}", root_path=os.environ.get("SYNAPSE_APP_ROOT_PATH", ""))


@app.get("/health")
def health():
    """The workspace's probe: 200, no database, no network, no auth."""
    return {"status": "ok"}


@app.get("/", include_in_schema=False)
def index():
    return FileResponse(STATIC / "index.html")


app.mount("/static", StaticFiles(directory=STATIC), name="static")
