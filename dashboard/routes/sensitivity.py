"""Page script: renders dashboard/views/sensitivity.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import sensitivity

sensitivity.render()
