"""The audit log's pure parts (DESIGN §5.5): hashing, the RFC 6962 tree, signed heads, exports.

Nothing here touches a database or the web: the sealer, the store queries and the HTTP layer
build on these, and an auditor's offline check needs nothing else.
"""
