"""`python -m polycrm` is the `polycrm` command."""

from polycrm.cli import main

main()
