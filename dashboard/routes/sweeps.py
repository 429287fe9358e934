"""Page script: renders dashboard/views/sweeps.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import sweeps

sweeps.render()
