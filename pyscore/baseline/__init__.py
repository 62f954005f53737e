"""This package contains the behavioral baselines: events, offline builds, the online store, signals."""
