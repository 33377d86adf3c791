"""The session engine (SESSION_ENGINE): Django's database sessions, the same table, rows and behaviour,
with the two statements every request sends written once instead of built by the ORM each time.

Every request of a signed-in user reads its session and, the session being saved on every request
(SESSION_SAVE_EVERY_REQUEST: the idle limit counts from the last request), writes it back. Through the
ORM that is a `get()` (~0.6 ms of CPU) and a forced update inside `transaction.atomic()` (~0.6 ms, and a
BEGIN and a COMMIT around the UPDATE); written here, 0.16 and 0.20 ms, and the update is one statement
(docs/performance.md, issue 8). What they do is Django's:

- a read finds the row of this key whose expiry is still ahead, or none (then the key is dropped, and
  the session starts empty, as Django's does);
- a save of an existing session updates its data and expiry, and raises UpdateError when the row is
  gone (it was deleted meanwhile: a logout in another tab, say), so that SessionMiddleware answers
  SessionInterrupted as it does with Django's engine.

Creating a session (a login, a cycled key) and everything else (delete, exists, clear_expired, the async
methods) is Django's own code.
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        using = router.db_for_read(self.model)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(
                _statements(using)[0],
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        # What load() reads of it: its data.
        return self.model(session_key=self.session_key, session_data=row[0])

    def save(self, must_create=False):
        if must_create or self.session_key is None:
            return super().save(must_create=must_create)
        data = self._get_session()
        using = router.db_for_write(self.model)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(
                _statements(using)[1],
                [
                    self.encode(data),
                    connection.ops.adapt_datetimefield_value(self.get_expiry_date()),
                    self.session_key,
                ],
            )
            if cursor.rowcount != 1:
                raise UpdateError


_COLUMNS = ("session_key", "session_data", "expire_date")
_STATEMENTS: dict[str, tuple[str, str]] = {}


def _statements(using: str) -> tuple[str, str]:
    """The read and the update, in the database's quoting (once per database alias)."""
    statements = _STATEMENTS.get(using)
    if statements is None:
        model = SessionStore.get_model_class()
        quote = connections[using].ops.quote_name
        meta = model._meta
        table = quote(meta.db_table)
        key, data, expiry = (quote(meta.get_field(name).column) for name in _COLUMNS)
        statements = _STATEMENTS[using] = (
            f"SELECT {data} FROM {table} WHERE {key} = %s AND {expiry} > %s",  # noqa: S608 (names, not data)
            f"UPDATE {table} SET {data} = %s, {expiry} = %s WHERE {key} = %s",  # noqa: S608 (names, not data)
        )
    return statements
