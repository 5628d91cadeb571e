"""Shared infrastructure: errors, run directories, executor, plotting style."""
