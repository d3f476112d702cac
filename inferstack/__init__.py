"""inferstack: declarative model specs compiled into GPU inference infrastructure on AWS."""

__version__ = "0.1.0"
