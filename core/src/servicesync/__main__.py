"""Run the command line with ``python -m servicesync``."""

from servicesync.cli import main

main()
