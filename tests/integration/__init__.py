"""Home Assistant running CrossWatch against the provider simulators."""
