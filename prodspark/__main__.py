import sys

from prodspark.cli import main

sys.exit(main())
