"""{{title}}: a Streamlit app. Health is Streamlit's own /_stcore/health."""

import streamlit as st
import streamlit.components.v1 as components

# The bridge runs in a component iframe nested in the app's, so the workspace is
# window.parent.parent there (scripts put in with st.markdown would not run at all).
BRIDGE = """<script>
{{bridge}}
</script>"""

st.set_page_config(page_title="{{title}}", layout="wide")
components.html(BRIDGE, height=0)

st.title("{{title}}")
name = st.text_input("Name")
if name:
    st.write(f"Hello, {name}!")
