"""{{title}}: a Gradio UI mounted on FastAPI, so /health answers before Gradio takes the rest."""

import os

import gradio as gr
from fastapi import FastAPI

BRIDGE_SCRIPT = """<script>
{{bridge}}
</script>"""

api = FastAPI()


@api.get("/health")
def health():
    """The workspace's probe: 200, no database, no network, no auth."""
    return {"status": "ok"}


theme = gr.themes.Base(
    primary_hue="blue",
    neutral_hue="slate",
    font=[gr.themes.GoogleFont("Pretendard"), "sans-serif"],
)

with gr.Blocks(title="{{title}}", theme=theme, head=BRIDGE_SCRIPT) as demo:
    gr.Markdown("# {{title}}")
    name = gr.Textbox(label="Name")
    greeting = gr.Textbox(label="Greeting")
    name.submit(lambda n: f"Hello, {n}!", name, greeting)

# GRADIO_ROOT_PATH (set by the runner) only changes the URLs Gradio generates.
app = gr.mount_gradio_app(api, demo, path="/", root_path=os.environ.get("GRADIO_ROOT_PATH", ""))
