"""What a run is, declared: the config schema, search settings, task and family tables, the
built-in demo task, and the result contract (result.json) between trials and reports.

This layer imports no component: it is plain dataclasses and tables that every other
layer reads.
"""
