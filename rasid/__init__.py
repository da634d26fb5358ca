"""rasid (راصد, "the observer"): the application around the pipeline, its CLI, daemon and digest."""

__version__ = "0.1.0"
