"""nebsign: supply-chain integrity and audit toolkit."""

__version__ = "0.1.0"
__all__ = ["__version__"]
