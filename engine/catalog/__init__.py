"""The track catalog: storage, the track record, queries, statistics, the validation split, source records."""
