"""xsdump: look inside xenstored live-update and migration dumps."""

__version__ = "0.1.0"
