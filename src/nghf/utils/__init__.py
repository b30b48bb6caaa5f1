"""Small shared helpers: logging/progress, YAML-backed frozen configs, atomic outputs."""
