import sys

from encore.stage.cli import main

sys.exit(main())
