"""Werkzeug's compiled routes, kept in the warm parent's memory and inherited by each child.

Why: binding a route makes Werkzeug build two URL-builder functions (an AST, `ast.walk` over it,
compile(), exec) and compile the route's regular expressions: half of the project's create_app()
(~15 ms of server/'s 19 routes), paid again by every child. Werkzeug has no cache for either.

The builder is a pure function of the rule's text, its parsed trace and its defaults (it reads
the converters through its `self` argument when called), so `Rule._compile_builder` is memoised
on exactly those inputs: a differing input is a miss, never a wrong builder. A child reports its
routes once it serves; the parent binds the same rules in a throwaway Map when idle, which
fills the memo and the `re` module's cache; the next child finds both. Rules the parent cannot
rebuild (custom converters, defaults) are simply compiled by the child as before.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

_BUILDERS: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}
_ATTR = "_devkit_memoised"


def install() -> bool:
    """Memoise Werkzeug's builder compilation (when Werkzeug is imported); True when it is."""
    rules = sys.modules.get("werkzeug.routing.rules")
    if rules is None:
        return False
    rule_class: Any = rules.Rule
    original = rule_class._compile_builder
    if getattr(original, _ATTR, False):
        return True

    def compile_builder(self: Any, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        key = builder_key(self, append_unknown)
        if key is None:
            return original(self, append_unknown)
        builder = _BUILDERS.get(key)
        if builder is None:
            builder = _BUILDERS[key] = original(self, append_unknown)
        return builder

    setattr(compile_builder, _ATTR, True)
    rule_class._compile_builder = compile_builder
    return True


def builder_key(rule: Any, append_unknown: bool) -> tuple[Any, ...] | None:
    """Everything `Rule._compile_builder` reads; None when a part is not hashable."""
    defaults = rule.defaults or {}
    try:
        converted = tuple(
            (data, rule._converters[data].to_url(defaults[data]))
            for dynamic, data in rule._trace
            if dynamic and data in defaults
        )
        key = (rule.rule, tuple(rule._trace), tuple(defaults), converted, append_unknown)
        hash(key)
    except Exception:  # noqa: BLE001 - an unusual converter or default: no memo for it
        return None
    return key


def routes_of(app: Any) -> list[str]:
    """In the child: the rules the parent can rebuild (plain text, no defaults, no host)."""
    url_map = getattr(app, "url_map", None)
    if url_map is None or not hasattr(url_map, "iter_rules"):
        return []
    return sorted(
        {
            r.rule
            for r in url_map.iter_rules()
            if not r.defaults and not r.subdomain and not r.host and not r.build_only
        }
    )


def warm(routes: Iterable[str]) -> int:
    """In the parent, when idle: bind the routes once; how many bound."""
    if not install():
        return 0
    from werkzeug.routing import Map, Rule

    url_map = Map()
    bound = 0
    for i, text in enumerate(routes):
        try:
            url_map.add(Rule(text, endpoint=f"devkit-warm-{i}"))
            bound += 1
        except Exception:  # noqa: BLE001 - e.g. a converter only the app registers
            continue
    url_map.update()
    return bound
