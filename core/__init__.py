"""Helpers shared by the apps, with no models and no import of any app of ours (docs/architecture.md)."""
