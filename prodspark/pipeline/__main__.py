"""Entry point: ``python -m prodspark.pipeline --help``, or this file given to spark-submit."""

import sys

from prodspark.pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
