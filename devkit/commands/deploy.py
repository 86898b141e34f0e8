"""`devkit deploy build | swarm up|down|status | secrets`: thin helpers over deploy/.

Everything they do can be done by hand (see README "Deploying"); they save typing and check the
usual mistakes first (no swarm, missing secrets, a weak JWT_SECRET).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devkit.commands import COMMANDS
from devkit.deploy import image, secrets, swarm
from devkit.errors import DevkitError
from devkit.settings.config import find_root


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("deploy", help=COMMANDS["deploy"])
    sub = parser.add_subparsers(dest="deploy_command", metavar="ACTION", required=True)

    build = sub.add_parser("build", help="build the API image, tagged with the git commit")
    build.add_argument("--tag", help="image name:tag (default aios-api:<commit>)")
    build.add_argument("--python-image", help="base image (default: the official python:3.11-slim)")
    build.add_argument(
        "--offline",
        action="store_true",
        help="build the wheels here into deploy/wheels/; the build uses no package index",
    )
    build.set_defaults(run=run_build)

    stack = sub.add_parser("swarm", help="deploy/stack.yml on the current Docker engine")
    stack.add_argument("action", choices=("up", "down", "status"))
    stack.add_argument("--stack", default=swarm.DEFAULT_STACK, help="stack name (default aios)")
    stack.add_argument("--image", help="API image to deploy (sets API_IMAGE)")
    stack.set_defaults(run=run_swarm)

    sec = sub.add_parser(
        "secrets", help="print the commands that create the secrets (never the values)"
    )
    sec.add_argument("--env-file", type=Path, default=Path(".env.production"))
    sec.add_argument("--target", choices=("swarm", "k8s"), default="swarm")
    sec.add_argument("--tls-cert", default="fullchain.pem", help="certificate (chain) file")
    sec.add_argument("--tls-key", default="privkey.pem", help="its private key")
    sec.set_defaults(run=run_secrets)

    value = sub.add_parser(
        "secret-value", help="write one secret to a pipe (used by the printed commands)"
    )
    value.add_argument("--env-file", type=Path, default=Path(".env.production"))
    value.add_argument("variable")
    value.set_defaults(run=run_secret_value)


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve() if getattr(args, "root", None) else find_root()


def run_build(args: argparse.Namespace) -> int:
    root = _root(args)
    tag = args.tag or image.image_tag(root)
    print(f"building {tag} from deploy/Dockerfile ...", flush=True)
    result = image.build_image(root, tag, python_image=args.python_image, offline=args.offline)
    print(f"built {result.tag} in {result.seconds:.0f} s ({result.size_bytes / 1e6:.0f} MB)")
    print(f"deploy it: devkit deploy swarm up --image {result.tag}")
    return 0


def run_swarm(args: argparse.Namespace) -> int:
    root = _root(args)
    if args.action == "up":
        env = {"API_IMAGE": args.image} if args.image else {}
        swarm.up(root, args.stack, env)
        print(f"deployed stack {args.stack}; watch it: devkit deploy swarm status")
    elif args.action == "down":
        swarm.down(args.stack)
        print(f"removed stack {args.stack} (volumes and secrets are kept)")
    else:
        services = swarm.status(args.stack)
        if not services:
            print(f"stack {args.stack} is not deployed (devkit deploy swarm up)")
            return 1
        width = max(len(s.name) for s in services)
        for service in services:
            mark = "ok " if service.healthy else "..."
            print(f"{mark} {service.name:<{width}}  {service.replicas:<8} {service.image}")
        return 0 if all(s.healthy for s in services) else 1
    return 0


def run_secrets(args: argparse.Namespace) -> int:
    values = secrets.load_values(args.env_file)  # checked now: the commands must not fail later
    for note in secrets.warnings_for(values):
        print(f"# warning: {note}", file=sys.stderr)
    if args.target == "swarm":
        lines = secrets.docker_commands(args.env_file, args.tls_cert, args.tls_key)
    else:
        lines = secrets.k8s_commands(args.env_file, args.tls_cert, args.tls_key)
    print(f"# run these (bash) to create the {args.target} secrets from {args.env_file}:")
    for line in lines:
        print(line)
    return 0


def run_secret_value(args: argparse.Namespace) -> int:
    if sys.stdout.isatty():
        raise DevkitError(
            "refusing to print a secret to the terminal",
            "pipe it into the command that stores it: ... | docker secret create NAME -",
        )
    sys.stdout.write(secrets.secret_value(args.env_file, args.variable))
    return 0
