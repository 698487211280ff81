"""From a finished sweep to a model people use: export, predict, evaluate.

:mod:`.exports` picks the trials (the report's selection, :mod:`peftsweep.report.selection`),
:mod:`.rebuild` restores a trial's model from its kept weights, :mod:`.writer` saves it
in Hugging Face format with :mod:`.card` and :mod:`.reproduce`; :mod:`.loading` opens an
export, :mod:`.predict` and :mod:`.evaluate` use it.
"""
