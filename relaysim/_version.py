"""The version of relaysim (one place, imported by every module that records it)."""

__version__ = "0.1.0"
