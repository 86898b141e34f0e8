"""The warm parent and its forked children: stdlib only, no other devkit imports, so the
parent process imports nothing but the app's own libraries before it forks.

protocol.py  the JSON-lines messages between devkit, the parent and its children
parent.py    ForkServer: the warm parent's loop (bind once, fork, drain, reap, relay output)
child.py     what runs in a forked child (import fresh, serve, drain on SIGTERM, crash report)
crashpage.py the 503 answer while no child can serve
preloads.py  the libraries imported once, and those learned from children
migrate.py   the one migration entry point (fork child, spawn runner, `devkit db push`)
"""
