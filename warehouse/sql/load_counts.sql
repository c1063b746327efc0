-- What the load just did, for the run record and the artifact.
SELECT
    (SELECT count(*) FROM incoming) AS loaded,
    (SELECT count(*) FROM fresh) AS inserted,
    (SELECT count(*) FROM moved) AS changed;
