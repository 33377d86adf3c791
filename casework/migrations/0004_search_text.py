"""Fill Beneficiary.search_text for existing rows, and on PostgreSQL index it with trigrams so that a
part of a name (`icontains`) is found without scanning the table (pg_trgm; the database user needs
the right to create the extension, or a DBA creates it beforehand)."""

import unicodedata

from django.db import migrations


def search_key(*parts):
    text = " ".join(part for part in parts if part)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fill_search_text(apps, schema_editor):
    Beneficiary = apps.get_model("casework", "Beneficiary")
    batch = []
    for beneficiary in Beneficiary.objects.only("pk", "last_name", "birth_name", "first_name").iterator(2000):
        beneficiary.search_text = search_key(beneficiary.last_name, beneficiary.birth_name, beneficiary.first_name)
        batch.append(beneficiary)
        if len(batch) == 2000:
            Beneficiary.objects.bulk_update(batch, ["search_text"])
            batch = []
    Beneficiary.objects.bulk_update(batch, ["search_text"])


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS benef_search_trgm ON casework_beneficiary USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS benef_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("casework", "0003_workspace")]

    operations = [
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
