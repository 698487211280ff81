"""Run one trial or a sweep: ``python train.py -m strategy=bitfit,full lr=3e-4,1e-4``."""

import sys

from peftsweep.train import cli

if __name__ == "__main__":
    sys.exit(cli())
