"""Page script: renders dashboard/views/new_sweep.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import new_sweep

new_sweep.render()
