"""The audit log's storage: its tables, the sealer view, a deliberate re-seal, and its reads.

The pure core (hashing, the RFC 6962 tree, signed heads, export checks) is `projections.audit`.
"""
