"""ppod-audio: raw studio recordings of The P Pod in, publishable episodes out."""

__version__ = "0.1.0"
