"""lawloop's command line from a checkout: `python run.py --help` (installed: `lawloop --help`).

The commands live in `lawloop.cli`; this file keeps the layout's entry point.
"""

from lawloop.cli import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
