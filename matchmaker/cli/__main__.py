"""`python -m matchmaker.cli`: the console script, for child processes started with the same interpreter."""

from . import main

main()
