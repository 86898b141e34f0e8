"""What the warm parent keeps for its children: compiled project modules (codecache), compiled
Werkzeug routes (routecache) and the learned preloads file (preloads).

codecache and routecache change the import machinery and Werkzeug's Rule of the process that
installs them, so those run in a fresh interpreter each (a real child process), never in pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devkit.warmfork import preloads

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


def run_python(code: str, cwd: Path) -> dict[str, object]:
    """Run `code` in a fresh interpreter; it prints one JSON object last."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": ""}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def make_package(root: Path) -> None:
    pkg = root / "proj"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from proj.value import VALUE\n")
    (pkg / "value.py").write_text("VALUE = 'v1'\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "deep.py").write_text("DEEP = 1\n")


def test_children_reuse_the_parents_compiled_modules_and_see_every_edit(tmp_path: Path) -> None:
    make_package(tmp_path)
    result = run_python(
        """
        import json, os, sys
        sys.path.insert(0, os.getcwd())
        from devkit.warmfork import codecache

        compiled = []
        real = codecache._compile
        codecache._compile = lambda source, path: compiled.append(os.path.basename(path)) or real(source, path)
        codecache.install(os.getcwd(), "proj")
        first = codecache.refresh(os.getcwd(), "proj")
        again = codecache.refresh(os.getcwd(), "proj")

        def child_import():
            # what a forked child does: import the project fresh, report what it compiled
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                compiled.clear()
                import proj, proj.sub.deep
                os.write(w, json.dumps([proj.VALUE, sorted(compiled)]).encode())
                os._exit(0)
            os.waitpid(pid, 0)
            return json.loads(os.read(r, 65536))

        cached = child_import()
        stat = os.stat("proj/value.py")
        with open("proj/value.py", "w") as f:  # same size, same second: a .pyc would be trusted
            f.write("VALUE = 'v2'\\n")
        os.utime("proj/value.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
        edited = child_import()
        refreshed = codecache.refresh(os.getcwd(), "proj")
        print(json.dumps({"first": first, "again": again, "cached": cached, "edited": edited,
                          "refreshed": refreshed, "pycache": os.path.isdir("proj/__pycache__")}))
        """,
        tmp_path,
    )
    assert result["first"] == 4 and result["again"] == 0
    assert result["cached"] == ["v1", []]  # nothing compiled in the child
    assert result["edited"] == ["v2", ["value.py"]]  # only the edited file, new code served
    assert result["refreshed"] == 1
    assert result["pycache"] is False  # the project's tree gets no bytecode files


def test_the_next_warm_parent_starts_with_the_kept_compiled_sources(tmp_path: Path) -> None:
    """save() keeps the compiled sources; a new parent's load() + refresh() compiles only what
    changed since, and a corrupt or foreign store is ignored."""
    make_package(tmp_path)
    store = tmp_path / "keep" / "api-code.bin"
    program = """
        import json, os, sys
        sys.path.insert(0, os.getcwd())
        from devkit.warmfork import codecache

        codecache.install(os.getcwd(), "proj")
        loaded = codecache.load(sys.argv[1])
        compiled = codecache.refresh(os.getcwd(), "proj")
        codecache.save(sys.argv[1])
        import proj
        print(json.dumps({"loaded": loaded, "compiled": compiled, "value": proj.VALUE}))
        """

    def parent() -> dict[str, object]:
        return run_python(program.replace("sys.argv[1]", repr(str(store))), tmp_path)

    assert parent() == {"loaded": 0, "compiled": 4, "value": "v1"}
    assert parent() == {"loaded": 4, "compiled": 0, "value": "v1"}
    (tmp_path / "proj" / "value.py").write_text("VALUE = 'v2'\n")  # edited while devkit was down
    assert parent() == {"loaded": 4, "compiled": 1, "value": "v2"}
    assert not list(store.parent.glob("*.tmp"))
    for broken in (b"", b"\x00" * 40, store.read_bytes()[:4] + b"\x00 not marshal"):
        store.write_bytes(broken)
        assert parent() == {"loaded": 0, "compiled": 4, "value": "v2"}


def test_a_syntax_error_is_left_to_the_child_which_reports_it(tmp_path: Path) -> None:
    make_package(tmp_path)
    (tmp_path / "proj" / "value.py").write_text("VALUE = 'v1\n")
    result = run_python(
        """
        import json, os, sys
        sys.path.insert(0, os.getcwd())
        from devkit.warmfork import codecache

        codecache.install(os.getcwd(), "proj")
        compiled = codecache.refresh(os.getcwd(), "proj")
        try:
            import proj
            error = None
        except SyntaxError as exc:
            error = [os.path.relpath(exc.filename), exc.lineno]
        print(json.dumps({"compiled": compiled, "error": error}))
        """,
        tmp_path,
    )
    assert result == {"compiled": 3, "error": ["proj/value.py", 1]}


def test_libraries_keep_the_standard_loader(tmp_path: Path) -> None:
    make_package(tmp_path)
    result = run_python(
        """
        import json, os, sys
        sys.path.insert(0, os.getcwd())
        from devkit.warmfork import codecache

        codecache.install(os.getcwd(), "proj")
        import proj, wave
        print(json.dumps({"proj": type(proj.__loader__).__name__,
                          "wave": type(wave.__loader__).__name__}))
        """,
        tmp_path,
    )
    assert result == {"proj": "CachedSourceLoader", "wave": "SourceFileLoader"}


def test_memoised_route_builders_build_the_same_urls(tmp_path: Path) -> None:
    result = run_python(
        """
        import json
        from werkzeug.routing import Map, Rule
        from devkit.warmfork import routecache

        def rules():
            return [
                Rule("/", endpoint="index"),
                Rule("/notes/<int:note_id>", endpoint="note"),
                Rule("/files/<path:name>", endpoint="file"),
                Rule("/pages/", defaults={"page": 1}, endpoint="pages"),
                Rule("/pages/<int:page>", endpoint="pages"),
                Rule("/u/<string(length=2):lang>/<any(a, b):kind>", endpoint="lang"),
            ]

        calls = [("index", {}), ("index", {"q": "x y"}), ("note", {"note_id": 7, "x": "1"}),
                 ("file", {"name": "a/b c.txt"}), ("pages", {}), ("pages", {"page": 3}),
                 ("lang", {"lang": "de", "kind": "b"})]

        def urls():
            adapter = Map(rules()).bind("example.com")
            return [adapter.build(e, v) for e, v in calls]

        plain = urls()
        assert routecache.install()
        memo_first = urls()
        size = len(routecache._BUILDERS)
        memo_again = urls()
        warmed = routecache.warm(["/notes/<int:note_id>", "/<nope:x>"])
        print(json.dumps({"same": plain == memo_first == memo_again, "size": size,
                          "grew": len(routecache._BUILDERS) - size, "warmed": warmed,
                          "plain": plain}))
        """,
        tmp_path,
    )
    assert result["same"] is True, result["plain"]
    assert result["size"] == 12  # two builders per rule
    assert result["grew"] == 0  # a second app with the same routes compiles none
    assert result["warmed"] == 1  # an unknown converter is left to the child


def test_learned_preloads_are_kept_for_the_next_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "devkit_learn_probe.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "devkit_learn_probe", raising=False)
    store = tmp_path / "api-preloads.txt"
    learner = preloads.Learner(True, str(store))
    assert learner.learned == set()
    learner.add(["devkit_learn_probe", "no_such_module_devkit_test"])
    learner.learn()
    assert "devkit_learn_probe" in sys.modules
    assert preloads.read_learned(str(store)) == ["devkit_learn_probe"]  # not the failed one
    assert preloads.Learner(True, str(store)).learned == {"devkit_learn_probe"}
    assert not list(tmp_path.glob("*.tmp"))


def test_an_unreadable_learned_file_preloads_nothing(tmp_path: Path) -> None:
    store = tmp_path / "api-preloads.txt"
    store.write_bytes(b"\xff\xfe not text")
    assert preloads.read_learned(str(store)) == []
    assert preloads.read_learned(str(tmp_path / "missing.txt")) == []
