"""Unit tests for the pure domain layer."""
