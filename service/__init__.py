"""The HTTP service: Flask app factory, resources, schemas, auth, metrics and CLI."""
