"""The seed's own dev stack as a benchmark peer: a small Express + pg server in TypeScript,
run by `tsx` (and restarted by `tsx watch`), installed from the npm registry into a temp
folder (`npm install express pg tsx`). Same routes as the API for what the benchmarks measure:
GET /value (the constant of value.ts), GET /status, GET /api/notes (bearer JWT, page of 20).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

CACHE = Path(os.environ.get("DEVKIT_BENCH_NODE_CACHE", "/tmp/devkit-bench-node"))
PACKAGES = ("express@4", "pg@8", "tsx@4")

SERVER_TS = r"""
import crypto from "node:crypto";
import express from "express";
import pg from "pg";
import { VALUE } from "./value";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const secret = process.env.JWT_SECRET ?? "";
const app = express();

function userId(header: string | undefined): number | null {
  const token = header?.startsWith("Bearer ") ? header.slice(7) : "";
  const [head, body, sig] = token.split(".");
  if (!head || !body || !sig) return null;
  const expected = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  if (expected.length !== sig.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(sig))) return null;
  const claims = JSON.parse(Buffer.from(body, "base64url").toString());
  if (typeof claims.exp === "number" && claims.exp < Date.now() / 1000) return null;
  return Number(claims.sub);
}

app.get("/value", (_req, res) => { res.json({ value: VALUE }); });
app.get("/status", (_req, res) => { res.json({ status: "ok" }); });
app.get("/api/notes", async (req, res) => {
  const uid = userId(req.header("authorization"));
  if (uid === null) { res.status(401).json({ error: { code: "unauthorized" } }); return; }
  const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 100);
  const { rows } = await pool.query(
    "SELECT id, title, body, created_at, updated_at FROM notes WHERE user_id = $1 " +
      "ORDER BY created_at DESC, id DESC LIMIT $2",
    [uid, limit + 1],
  );
  res.json({ notes: rows.slice(0, limit), next_cursor: rows.length > limit ? "more" : null });
});
app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`listening on ${process.env.PORT}`));
"""


def available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def install(log: Callable[[str], object] = print) -> Path | None:
    """node_modules with express, pg and tsx (cached between runs); None when npm fails."""
    if not available():
        return None
    if (CACHE / "node_modules" / ".bin" / "tsx").exists():
        return CACHE / "node_modules"
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text('{"name": "devkit-bench-peer", "private": true}\n')
    log(f"installing {' '.join(PACKAGES)} from the npm registry into {CACHE} ...")
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", *PACKAGES],
        cwd=CACHE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        log(f"npm install failed: {result.stderr.strip()[-400:]}")
        return None
    return CACHE / "node_modules"


def make_project(root: Path, modules: Path, value: str = "start") -> Path:
    """server.ts + value.ts under root (node_modules linked); returns value.ts."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "node_modules").is_symlink():
        (root / "node_modules").symlink_to(modules)
    (root / "package.json").write_text('{"name": "peer", "private": true, "type": "module"}\n')
    (root / "server.ts").write_text(SERVER_TS)
    target = root / "value.ts"
    write_value(target, value)
    return target


def write_value(target: Path, value: str) -> None:
    target.write_text(f"export const VALUE = {value!r};\n")


def tsx(modules: Path) -> str:
    return str(modules / ".bin" / "tsx")
