"""Forms of the casework screens, one module per area (sharing, entries, pathway)."""
