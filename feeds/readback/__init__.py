"""Outputs read back (``feeds diff``): what a folder or a build publishes, compared."""
