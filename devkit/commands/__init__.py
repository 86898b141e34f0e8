"""One module per `devkit` command; cli.py registers them in this order."""

from devkit.commands import db, doctor, down, qr, status, up, urls

COMMAND_MODULES = (up, status, down, urls, qr, db, doctor)
