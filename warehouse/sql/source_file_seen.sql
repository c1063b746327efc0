-- The same report content is recognised whatever its container or file name (DESIGN.md).
SELECT run_id, file_name, ingested_at
FROM source_files
WHERE network = $network AND account = $account AND content_hash = $content_hash;
