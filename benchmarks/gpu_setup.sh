# Source on the GPU lease, from the repo root: `. benchmarks/gpu_setup.sh`
# (after `python benchmarks/gpu_bundle.py` here, with carry [".cache/gpu-bundle"]).
# Installs the missing packages into /tmp/site, unpacks the data into /tmp/bench-data
# (pass --data-dir /tmp/bench-data to run.py) and puts peftsweep on the path.
BUNDLE=.cache/gpu-bundle
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site "$BUNDLE"/wheels/*.whl || return 1
export PYTHONPATH="/tmp/site:$PWD/src:$PWD/$BUNDLE/pkgs${PYTHONPATH:+:$PYTHONPATH}"
export PEFTSWEEP_CACHE=/tmp/psc PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
python3 benchmarks/gpu_bundle.py --restore /tmp/bench-data || return 1
