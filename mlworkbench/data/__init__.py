"""Getting and cleaning the data: ingest, validation, preparation and the split (nbs/02_data/)."""
