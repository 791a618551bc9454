"""feeds: turns a folder of news records into RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds."""

__version__ = "0.1.0"

# Feeds carry this name without a version so that upgrading the program does not change every
# published file (and every ETag) for no reason visible to readers.
GENERATOR = "feeds"
