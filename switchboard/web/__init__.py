"""`switchboard serve`: the HTTP API, the live dashboard and the dispatch endpoint.

`tokens` (the bearer tokens' API) is light; everything else here imports starlette
and SQLModel and is loaded only by the server itself.
"""
