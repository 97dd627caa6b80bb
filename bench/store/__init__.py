"""The result store: records, their keys and schema, migration of older records, reading them back."""
