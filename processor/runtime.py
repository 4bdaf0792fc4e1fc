"""Composition root: wires a source, the pipeline and the sinks (filled by the foundation issue)."""
