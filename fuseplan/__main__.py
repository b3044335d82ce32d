"""``python -m fuseplan`` runs the command line."""

from fuseplan.solver.cli import main

raise SystemExit(main())
