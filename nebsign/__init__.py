"""nebsign: supply-chain integrity and audit toolkit.

The Python API is the modules docs/architecture.md lists as public (``errors``,
``digest``, ``manifest``, ``keys``, ``signing``, ``verify``, ``release_check``,
``attest``, ``findings``, ``sarif``, ``policy``, ...), each through its ``__all__``.
``pip install nebsign`` is what a host needs to verify and install releases; the
build-server capabilities come with extras (``nebsign[scan]``, ``[build]``, ...).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
