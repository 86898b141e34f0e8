"""Where the API lives: every resource under /api/v1, and again under /api (the mobile app's
alias). The app factory, the OpenAPI document and anyone else naming these paths import them
from here."""

API_PREFIX = "/api/v1"
ALIAS_PREFIX = "/api"
