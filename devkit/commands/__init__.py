"""One module per `devkit` command (devkit/commands/NAME.py with `register(subparsers)`).

The CLI imports only the module of the command being run (psycopg, httpx, qrcode and the
dashboard cost ~0.4 s to import); the others appear in `devkit --help` from this table.
"""

COMMANDS = {
    "up": "start PostgreSQL, the API and Metro (dashboard, or --headless)",
    "status": "components, state, health, pids, ports, uptime",
    "down": "stop a running devkit or clean up leftovers",
    "urls": "the URLs each device uses (simulator, emulator, phone)",
    "qr": "print the Expo Go QR code (and one for the API status URL)",
    "db": "migrations, psql, reset, backups of the dev database",
    "doctor": "check Python, Node, Docker/PostgreSQL, .env, ports, disk, LAN, backups",
    "deploy": "production: build the API image, run the Swarm stack, print secret commands",
}
