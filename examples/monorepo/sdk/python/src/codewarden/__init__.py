"""Python SDK for the codewarden API."""

from codewarden.client import ApiError, Client

__version__ = "0.1.0"

__all__ = ["ApiError", "Client", "__version__"]
