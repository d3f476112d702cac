"""`python -m inferstack` runs the CLI."""

from inferstack.cli import main

main()
