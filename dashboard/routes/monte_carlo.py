"""Page script: renders dashboard/views/monte_carlo.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import monte_carlo

monte_carlo.render()
