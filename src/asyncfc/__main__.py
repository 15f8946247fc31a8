"""``python -m asyncfc``: the same command line as the ``asyncfc`` script."""

from ._cli import main

raise SystemExit(main())
