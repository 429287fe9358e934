"""Page scripts for `st.navigation`: each imports its view and renders it."""
