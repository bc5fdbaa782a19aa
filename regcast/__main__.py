"""``python -m regcast`` runs the CLI (the same as the ``regcast`` console script)."""

from regcast.cli import main

main()
