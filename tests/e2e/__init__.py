"""End-to-end tests against a real Home Assistant process (not the test harness)."""
