"""The HTTP management API (``volt-agent serve``): see ``app.create_app``."""
