"""The one seam between switchboard and its database.

Everything that differs between SQLite and PostgreSQL lives in this package: the
connectors (how to connect, begin a write, wake waiters), the SQL of every part
(`sql/<part>.sql`, with `sql/<part>.<dialect>.sql` overriding single queries) and
the migrations. Services only name queries: `tx.all("mailbox.check", {...})`.
"""

from switchboard.store.core import Store, Tx
from switchboard.store.opening import open_store

__all__ = ["Store", "Tx", "open_store"]
