"""``python -m greenbank`` is the same as the ``greenbank`` command."""

from greenbank.cli import main

main()
