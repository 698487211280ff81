"""From command-line overrides and the config folder to checked trial configs.

Hydra composes ``conf/`` (its schema nodes from :mod:`.nodes`), :mod:`.overrides`
expands a grid, :mod:`.validate` turns a composed config into a ``TrialConfig`` or one
``ConfigError``; :mod:`.session` ties them together with one-line errors.
"""
