"""File formats: readers for recordings (CSV, EDF+/BDF+, raw) and the raw recording writer."""
