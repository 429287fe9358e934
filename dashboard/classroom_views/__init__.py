"""Pages of the classroom app (`streamlit run dashboard/classroom.py`): student, teacher, debrief, and the
presentation view for the projector."""
