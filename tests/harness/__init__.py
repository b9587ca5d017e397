"""Combined-quirk fault harness: the real provider clients on the simulators, quirks combined."""
