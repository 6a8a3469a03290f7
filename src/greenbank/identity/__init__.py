"""Identity and access: customer sign-in by SMS code, bearer sessions, staff accounts, roles and
permissions. See README.md; HTTP dependencies for other routers are in ``identity.deps``.
"""
