"""Provider clients against their simulators."""
