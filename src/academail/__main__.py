import sys

from academail.config.cli import main

sys.exit(main())
