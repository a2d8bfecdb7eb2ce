"""Internals shared by the three import packages (``nfbst``, ``logiclearn``, ``infotheory``).

Nothing here is public API; it exists so that one convention (for now, ``random_state``
handling in :mod:`probconstraints._random`) has one implementation without one package
importing another's heavy ``__init__``.
"""
