# Shared by scripts/dev and scripts/test: create .venv once, reinstall only when pyproject.toml
# or uv.lock changes. Installs the exact versions of uv.lock with uv (bootstrapped once per
# machine into ~/.cache/devkit/uv when missing); falls back to pip and pyproject.toml's
# version ranges, saying so, when uv cannot be had. DEVKIT_NO_UV=1 forces pip. A uv.lock older
# than pyproject.toml is re-locked (then commit it), except under CI (CI set): there it fails.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
UV_HOME="${DEVKIT_UV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/devkit/uv}"

pick_python() {
    for candidate in "${DEVKIT_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "devkit needs Python 3.11 or newer: install it (e.g. apt-get install python3.11) or set DEVKIT_PYTHON" >&2
    return 1
}

# find_uv: print the path of a uv binary (on PATH, or bootstrapped into $UV_HOME); 1 if none.
find_uv() {
    [ "${DEVKIT_NO_UV:-}" = 1 ] && return 1
    if command -v uv >/dev/null 2>&1; then
        command -v uv
        return 0
    fi
    if [ ! -x "$UV_HOME/bin/uv" ]; then
        local py
        py="$(pick_python)" || return 1
        echo "devkit: fetching uv (installs the locked versions in seconds) into $UV_HOME, once per machine" >&2
        "$py" -m pip install --quiet --disable-pip-version-check --target "$UV_HOME" uv >/dev/null 2>&1 ||
            return 1
    fi
    [ -x "$UV_HOME/bin/uv" ] && echo "$UV_HOME/bin/uv"
}

# uv reads its own settings, not pip's: reuse pip's index when one is configured.
uv_index_from_pip() {
    [ -n "${UV_DEFAULT_INDEX:-}${UV_INDEX_URL:-}" ] && return 0
    local index="${PIP_INDEX_URL:-}"
    [ -n "$index" ] || index="$("$1" -m pip config get global.index-url 2>/dev/null || true)"
    [ -n "$index" ] && export UV_DEFAULT_INDEX="$index"
    return 0
}

# lock_is_current UV: 0 when uv.lock matches pyproject.toml (checked offline, no index needed).
lock_is_current() {
    (cd "$ROOT" && "$1" lock --check --offline --quiet >/dev/null 2>&1)
}

# install_with_uv UV EXTRA: the exact versions of uv.lock; 1 when that cannot be done.
install_with_uv() {
    local uv="$1" extra="$2" py
    [ -f "$ROOT/uv.lock" ] || {
        echo "devkit: no uv.lock in $ROOT (run \`uv lock\` and commit it)" >&2
        return 1
    }
    if ! lock_is_current "$uv"; then
        if [ -n "${CI:-}" ]; then  # CI installs what was committed, or fails
            echo "devkit: uv.lock does not match pyproject.toml: run \`uv lock\` and commit uv.lock" >&2
            exit 1
        fi
        echo "devkit: uv.lock is older than pyproject.toml (a dependency changed); re-locking ..." >&2
        py="$(pick_python)" || return 1
        uv_index_from_pip "$py"
        if (cd "$ROOT" && "$uv" lock --quiet); then
            echo "devkit: uv.lock updated: commit it with your pyproject.toml change" >&2
        else
            echo "devkit: could not re-lock (is the package index reachable?); run \`uv lock\` when it is" >&2
            return 1
        fi
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        py="$(pick_python)" || return 1
        # --seed: pip in .venv too, for those who use it
        "$uv" venv --quiet --seed --python "$py" "$VENV" || return 1
    fi
    local args=(sync --frozen --inexact --quiet)
    [ -n "$extra" ] && args+=(--extra "$extra")
    (cd "$ROOT" && UV_PROJECT_ENVIRONMENT="$VENV" "$uv" "${args[@]}")
}

install_with_pip() {
    local extra="$1" spec="$ROOT"
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(pick_python)" || exit 1
        echo "devkit: creating .venv with $py" >&2
        "$py" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip --version >/dev/null 2>&1 || "$VENV/bin/python" -m ensurepip --quiet
    [ -n "$extra" ] && spec="$ROOT[$extra]"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" 2>&1 | { grep -v "^WARNING: Location" >&2 || true; }
    [ "${PIPESTATUS[0]}" = 0 ] || {
        echo "devkit: pip install failed; see the messages above (network, disk space or Python headers)" >&2
        exit 1
    }
}

# install_stamp EXTRA: what .venv/.devkit-installed holds once .venv matches pyproject.toml and
# uv.lock with EXTRA ("" or "test") installed
install_stamp() {
    echo "$(cat "$ROOT/pyproject.toml" "$ROOT/uv.lock" 2>/dev/null | sha256sum | cut -c1-16)-${1:-base}"
}

# ensure_venv EXTRA: EXTRA is "" or "test"
ensure_venv() {
    local extra="$1" stamp want uv began tool
    want="$(install_stamp "$extra")"
    stamp="$VENV/.devkit-installed"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && grep -qx "$want" "$stamp"; then
        return 0
    fi
    echo "devkit: installing the project into .venv (first run, or pyproject.toml/uv.lock changed)" >&2
    began=$(date +%s.%N)
    tool=uv
    if ! uv="$(find_uv)" || ! install_with_uv "$uv" "$extra"; then
        echo "devkit: installing with pip from the version ranges in pyproject.toml instead of" \
            "the exact versions of uv.lock (slower; get uv with \`pip install uv\`)" >&2
        tool=pip
        install_with_pip "$extra"
    fi
    echo "devkit: .venv ready ($tool, $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $began}") s)" >&2
    # the stamp covers uv.lock as re-locked above; a test install also satisfies the base install
    want="$(install_stamp "$extra")"
    if [ -n "$extra" ]; then
        printf '%s\n%s\n' "$want" "${want%-*}-base" >"$stamp"
    else
        printf '%s\n' "$want" >"$stamp"
    fi
    compile_bytecode_later
}

# compile_bytecode_later: write the .pyc files of .venv and of devkit/ in the background, at the
# lowest CPU priority. pip compiles at install; uv does not (it installs in a second), and with
# PYTHONDONTWRITEBYTECODE set nothing ever writes them: every `devkit up` then compiles its
# libraries from source (~1.4 s of CPU for flask, psycopg, textual, docker ...). Not waited
# for: the first run is not delayed; the runs after it start from bytecode. server/ is left
# alone: it is the app's code (devkit's warm parent keeps it compiled in memory).
compile_bytecode_later() {
    local site
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || return 0
    (
        cd "$ROOT" &&
            nice -n 19 "$VENV/bin/python" -m compileall -q -j 1 "$site" devkit >/dev/null 2>&1 &
    ) </dev/null >/dev/null 2>&1
}
