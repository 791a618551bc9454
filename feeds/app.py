"""The app's public entry points for ASGI servers, as docs/deploying.md names them:
``uvicorn --factory feeds.app:from_environment`` and the workers' ``feeds.app:from_snapshot_dir``.
The app itself is ``feeds/serve/app.py``."""

from feeds.serve.app import create_app, from_environment, from_snapshot_dir

__all__ = ["create_app", "from_environment", "from_snapshot_dir"]
