"""domain layer."""

__all__: list[str] = []
