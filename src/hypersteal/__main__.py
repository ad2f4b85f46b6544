"""``python -m hypersteal``: the same command as ``hypersteal``."""

import sys

from hypersteal.cli import main

if __name__ == "__main__":
    sys.exit(main(prog_name="python -m hypersteal"))
