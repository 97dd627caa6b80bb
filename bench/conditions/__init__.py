"""Test conditions: the condition model and its YAML, the datasets and sequences it names, the demo set."""
