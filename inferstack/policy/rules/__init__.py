"""The rule functions and their metadata, by category."""
