"""``feeds publish``, ``feeds fetch`` and WebSub: putting a build where readers get it."""
