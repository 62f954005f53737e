"""pyscore: email threat detection and decisioning engine."""

__version__ = "0.1.0"
