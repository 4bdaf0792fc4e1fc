"""``python -m processor`` runs the twitchwatch command line."""

import sys

from processor.cli import main

sys.exit(main())
