"""What a long-lived web process does once the application is loaded (config/wsgi.py, config/asgi.py).

CPython's cyclic garbage collector walks every tracked object on each full collection: in a web worker,
the modules, models, URL patterns and templates it loaded at start-up, 170,000 objects after a few pages.
Each full collection then took 60 to 90 ms, once every few file pages (measured, docs/performance.md):
the slowest requests were those the collector fell on. `gc.freeze()` puts what is alive at start-up in a
generation of its own that collections no longer walk; what requests allocate is collected as before.
"""

import gc

from django.urls import get_resolver


def settle() -> None:
    """Import every view (the URLconf does), then keep all that is loaded out of the collector's walks."""
    get_resolver().url_patterns  # noqa: B018 (evaluated for its imports)
    gc.freeze()
