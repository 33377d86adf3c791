"""Pagination of large, annotated querysets: the page's ids first, then only their rows.

Django's Paginator slices the queryset (`ORDER BY ... LIMIT 50 OFFSET n`): the database computes every
column of the n skipped rows too, the annotations' subqueries included, so that a page deep in a list of
25,000 files costs as much as reading them all. `IdPaginator` sends the same single statement for a
page, written so that only the page's rows are computed:

    SELECT <columns> FROM t WHERE id IN (SELECT id FROM t WHERE ... ORDER BY ... LIMIT 50 OFFSET n)
    ORDER BY ...

(the inner query reads only what the filters and the ordering need). The count is the Paginator's.
"""

from django.core.paginator import Paginator


class IdPaginator(Paginator):
    """A Paginator for model querysets whose ordering ends with a unique column (the pk)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)
