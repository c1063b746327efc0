INSERT OR REPLACE INTO ingest_state VALUES ($network, $account, $stream, $cursor, $run_id, $now);
