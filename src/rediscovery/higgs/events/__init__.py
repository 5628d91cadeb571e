"""TODO facade."""
