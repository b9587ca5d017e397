"""Tests for the CrossWatch integration."""
