"""Page script: renders dashboard/views/analysis.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import analysis

analysis.render()
