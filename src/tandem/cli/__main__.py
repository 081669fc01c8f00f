"""`python -m tandem.cli <verb>` (also what `torchrun -m tandem.cli ...` runs)."""

from tandem.cli import main

raise SystemExit(main())
