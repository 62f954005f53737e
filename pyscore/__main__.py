"""``python -m pyscore``: the command line."""

import sys

from pyscore.cli import main

sys.exit(main())
