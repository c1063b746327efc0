-- One cursor per (network, account, stream): replaced by delete + insert (no upsert on a DuckLake).
DELETE FROM ingest_state WHERE network = $network AND account = $account AND stream = $stream;
INSERT INTO ingest_state VALUES ($network, $account, $stream, $cursor, $run_id, $now);
