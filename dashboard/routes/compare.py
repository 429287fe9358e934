"""Page script: renders dashboard/views/compare.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import compare

compare.render()
