"""A real Home Assistant process with CrossWatch, and a small HTTP/websocket client for it.

Used by the end-to-end test (tests/e2e) and by script/demo; never by the test harness.
"""
