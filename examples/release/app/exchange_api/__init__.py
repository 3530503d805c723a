"""exchange-api: order entry and wallet service of the example exchange."""

__version__ = "1.4.2"
