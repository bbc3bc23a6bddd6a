"""`python -m calsync` runs the CLI."""

import sys

from calsync.cli import main

sys.exit(main())
