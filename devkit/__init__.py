"""devkit: one command to run the AIOS stack (PostgreSQL, the Flask API, Expo's Metro) locally."""

__version__ = "0.1.0"
