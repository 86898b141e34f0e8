"""`devkit bench`: the seed's load test (`ab -n 1000 -c 10 -H "Authorization: Bearer ..."
.../api/notes`) with its pass marks: more than 100 requests/s, no failed request, p95 < 500 ms.

target (where, and is it this machine), account (a throwaway user with a few notes), the load
drivers (ApacheBench parsed by abparse, or a bounded httpx client), stats, marks and report.
"""
