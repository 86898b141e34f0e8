"""One module per `devkit` command (devkit/commands/NAME.py with `register(subparsers)`).

The CLI imports only the module of the command being run (psycopg, httpx, qrcode and the
dashboard cost ~0.4 s to import); the others appear in `devkit --help` from this table.
"""

COMMANDS = {
    "up": "start PostgreSQL, the API and Metro (dashboard, --headless or --detach)",
    "status": "components, state, health, pids, ports, uptime",
    "down": "stop a running devkit or clean up leftovers",
    "logs": "what the components printed; -f to follow (from the running devkit)",
    "restart": "restart components (all when none named) and wait until healthy",
    "stop": "stop components of the running devkit",
    "start": "start stopped components of the running devkit",
    "attach": "the dashboard of a devkit running elsewhere (q leaves it running)",
    "run": "bring the stack up, run a command against it, stop it (for CI)",
    "web": "the dashboard in a browser (127.0.0.1, token in the URL)",
    "urls": "the URLs each device uses (simulator, emulator, phone)",
    "qr": "print the Expo Go QR code (and one for the API status URL)",
    "db": "migrations, psql, reset, backups of the dev database",
    "doctor": "check Python, Node, Docker/PostgreSQL, .env, ports, disk, LAN, backups",
    "bench": "the seed's load test (ab -n 1000 -c 10 on /api/notes) with its pass marks",
    "verify": "the seed's production checklist against a deployed URL (TLS, redirect, login...)",
    "deploy": "production: build the API image, run the Swarm stack, print secret commands",
}
