"""PolyCRM."""
