"""Tests for the SQLite session store (real files in tmp_path)."""
