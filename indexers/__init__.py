"""Mongo -> Elasticsearch sync: index definition, projection, change sources, bulk writer,
checkpoints, rebuild and verify. `service/` imports field and index names from here."""
