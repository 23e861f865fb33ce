"""The shared target networks (docs/methods.md#targets): trained once per cell group and read by
the feature extractors (`alarmbench.features`) and the methods (`alarmbench.methods`), which sit
above this package; it imports neither (tests/unit/test_import_layers.py).

- `training`: the R2-AD2 AE and the snapshot chain, and what every target's training shares
  (`cached_state`, `train_reconstruction`, `keras_adam`, `step_block`).
- `files`: the targets' file names (torch-free: the workflow's catalog names its files with it).
"""
