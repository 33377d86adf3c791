"""The database connection as production opens it: on PostgreSQL, parameters bound by the server, so that
psycopg prepares the statements a connection runs again and again (config/settings/base.py)."""

import pytest
from django.db import connection

from casework.models import Beneficiary

pytestmark = [
    pytest.mark.django_db,
    # With CI=true the test settings refuse SQLite: this never skips in CI.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (CI runs it)."),
]


def _prepared(fragment: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if fragment in row[0]]


def test_a_statement_run_often_is_prepared_once_with_its_parameters_bound_by_the_server():
    for number in range(8):
        list(Beneficiary.objects.filter(allocataire_number=f"{number:07d}"))
    prepared = _prepared('FROM "casework_beneficiary" WHERE "casework_beneficiary"."allocataire_number" = $1')
    assert len(prepared) == 1  # one statement whatever the value, its parameter bound by the server
