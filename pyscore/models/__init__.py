"""This package contains the model detectors: training, import through Treelite, compiled forests, model files."""
