"""academail: the messaging platform of a French académie."""

__version__ = "0.1.0"
