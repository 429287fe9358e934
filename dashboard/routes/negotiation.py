"""Page script: renders dashboard/views/negotiation.py (kept tiny: Streamlit recompiles page scripts on every rerun)."""

from dashboard.views import negotiation

negotiation.render()
