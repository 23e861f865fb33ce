"""Data layer: registry, downloads, loaders, and the split protocol."""
