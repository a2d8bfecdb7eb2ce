"""infotheory package."""
