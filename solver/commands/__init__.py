"""One module per ``fuseplan`` subcommand.

Each module defines ``NAME`` (the subcommand), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. Modules import heavy libraries inside ``run`` only, so that
``fuseplan --help`` and light commands start fast. The dispatcher in ``solver/cli.py`` finds
the modules itself: adding a command is adding a file.
"""
