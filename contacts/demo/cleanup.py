"""Remove generated people (benchmark and scale rows) set-based.

`QuerySet.delete()` on contacts loads every row and sends a post_delete signal per contact,
which for a million generated rows takes longer than generating them. Generated people belong
to no one, so they go without signals or change-hook reports, in one statement per table, and
a large batch without per-row foreign key checks (see `bulk.bulk_unload`).
"""

from __future__ import annotations

from django.db import connection, models

from contacts.demo.bulk import bulk_unload
from contacts.models import Contact


def delete_contacts(contacts: models.QuerySet) -> int:
    """Delete `contacts` and the rows that cascade from them; null the SET_NULL references."""
    ids = contacts.order_by().values("pk")
    with bulk_unload(Contact, rows=contacts.count()):
        for relation in Contact._meta.get_fields(include_hidden=True):
            if not (relation.auto_created and relation.is_relation and (relation.one_to_many or relation.one_to_one)):
                continue
            name = relation.field.name
            related = relation.related_model._base_manager.filter(**{f"{name}__in": ids})
            if relation.on_delete is models.CASCADE:
                related.delete()
            elif relation.on_delete is models.SET_NULL:
                related.update(**{name: None})
            elif relation.on_delete is not models.DO_NOTHING and related.exists():
                raise models.ProtectedError(f"{relation.related_model.__name__} rows still refer to these contacts",
                                            set())
        sql, params = ids.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Contact._meta.db_table} WHERE id IN ({sql})", params)
            return cursor.rowcount
