"""config.process.settle: what a web worker does once the application is loaded."""

import gc

from config.process import settle


def test_settle_puts_what_is_loaded_out_of_the_collectors_walks():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        settle()
        # Objects alive at that moment (modules, URL patterns...) are frozen; later ones are collected.
        assert gc.get_freeze_count() > 10_000
        later = [[]]
        later.append(later)
        assert gc.is_tracked(later) and all(obj is not later for obj in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
