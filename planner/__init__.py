"""Constraint-aware playlists and class plans with a reason per item."""
