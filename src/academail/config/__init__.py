"""Configuration and the glue every app shares: settings read from the
environment (`env`), URLs, ASGI entry point and command line, security
headers and CSP, language choice, navigation, log redaction of token URLs,
and database connection handling for web requests. Owns no table."""
