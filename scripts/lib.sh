# Shared by scripts/dev and scripts/test: create .venv once, reinstall only when pyproject.toml changes.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

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

# ensure_venv EXTRA: EXTRA is "" or "test"
ensure_venv() {
    local extra="$1" stamp want
    want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-${extra:-base}"
    stamp="$VENV/.devkit-installed"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && grep -qx "$want" "$stamp"; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(pick_python)" || exit 1
        echo "devkit: creating .venv with $py" >&2
        "$py" -m venv "$VENV"
    fi
    echo "devkit: installing the project into .venv (first run or pyproject.toml changed)" >&2
    local spec="$ROOT"
    [ -n "$extra" ] && spec="$ROOT[$extra]"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" 2>&1 | { grep -v "^WARNING: Location" >&2 || true; }
    [ "${PIPESTATUS[0]}" = 0 ] || {
        echo "devkit: pip install failed; see the messages above (network, disk space or Python headers)" >&2
        exit 1
    }
    # a test install also satisfies the base install
    if [ -n "$extra" ]; then
        printf '%s\n%s\n' "$want" "${want%-*}-base" >"$stamp"
    else
        printf '%s\n' "$want" >"$stamp"
    fi
}
