"""SQL storage: schema from metadata, the filter compiler and repositories. Knows SQLAlchemy, not HTTP."""
