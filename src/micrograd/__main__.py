import sys

from micrograd.cli import main

sys.exit(main())
