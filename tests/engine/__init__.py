"""Tests for the pure sync engine."""
