"""`devkit verify URL`: the seed's "How to Verify" checklist against a deployment, each check
pass / warn / fail with a one-line fix, reported like `devkit doctor` (its CheckResult and
report are reused, which is why this package sits above devkit.doctor in the layers).

tls (read and judge the certificate), http_checks (status, redirect, headers, login, version
gate, latency) and run (the order, and the client the HTTP checks share).
"""
