"""The negsim Streamlit dashboard (`streamlit run dashboard/app.py`): views only; every number comes from
`sim.service` and `sim.core.spatial`."""
