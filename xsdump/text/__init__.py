"""Bytes to text: the ground floor every layer may use (guest bytes escaped for printing)."""
