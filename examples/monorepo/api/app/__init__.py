"""codewarden API: a small WSGI application built on the standard library."""

__version__ = "0.1.0"
