"""logiclearn package."""
