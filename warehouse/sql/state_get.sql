SELECT cursor FROM ingest_state WHERE network = $network AND account = $account AND stream = $stream;
