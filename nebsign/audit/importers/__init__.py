"""One module per audit input format; each registers in ``nebsign.audit.interface.IMPORTERS``."""
