"""``feeds serve``: the app, its builder and workers, and the HTTP rules they share."""
