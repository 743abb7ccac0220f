"""The one canonical filter tree every dialect parses into and the store compiles to SQL."""
