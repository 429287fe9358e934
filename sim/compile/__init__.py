"""Scenario -> arrays: the numbers a run plays (`inputs`: coded and drawn) and the normalised arrays its rounds read
(`arrays`)."""
