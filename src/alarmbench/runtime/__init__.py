"""What every training run stands on: its `context.Context` and the epoch loop with resumable
checkpoints (`loop`). Below the shared targets (`alarmbench.targets`), the feature extractors and
the methods; imports nothing of them (tests/unit/test_import_layers.py)."""
