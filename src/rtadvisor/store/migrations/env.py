"""Alembic environment of the result store: migrations run on the connection rtadvisor hands over.

rtadvisor applies them itself when a store is opened (``ResultStore.open``), inside one transaction
that holds the store's schema lock (see :mod:`rtadvisor.store.migrate`), so there is no
``alembic.ini`` and no engine of its own here.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the result store migrates itself when opened: use rtadvisor.store.ResultStore.open(URL) "
                       "or `rtadvisor store upgrade --db URL`")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=False,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
