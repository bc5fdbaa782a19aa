"""One module per ``regcast`` command group; :mod:`regcast.cli` assembles them.

- :mod:`~regcast.commands.serve`: run the registry;
- :mod:`~regcast.commands.registry`: ``register``, ``subjects``, ``versions``, ``get``;
- :mod:`~regcast.commands.check`: the CI compatibility gate;
- :mod:`~regcast.commands.produce`: JSON lines -> typed records on a topic;
- :mod:`~regcast.commands.demo`: the whole pipeline on embedded defaults.

Shared options, consoles and exit codes live in :mod:`~regcast.commands._common`.
"""
