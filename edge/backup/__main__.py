"""``python -m edge.backup backup run|status`` / ``python -m edge.backup restore``."""

from edge.backup.cli import main

main()
