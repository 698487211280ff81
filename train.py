"""Run one trial or a sweep: ``python train.py -m strategy=bitfit,full lr=3e-4,1e-4``.

The same as ``peftsweep train ...``.
"""

import sys

from peftsweep.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
