"""`python -m devkit` is the same as the `devkit` console script."""

from devkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
