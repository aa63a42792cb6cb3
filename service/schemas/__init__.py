"""Marshmallow schemas shared by the resources."""
