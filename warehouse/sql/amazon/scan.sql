-- The lines of one Fee-Earnings report, as DuckDB read them (warehouse/amazon_scan.py fills
-- in the named slots). The rows slot gives each distinct line's raw cells c0.. once, with
-- `copies`, how many lines of the report hold exactly these cells (or every line, copies 1:
-- for a report whose first lines hardly repeat, and in file order when the lines that are not
-- plain must be found again): a big report
-- repeats many lines (affiliate-formats.md 1.5; the bench's million lines hold 617k distinct
-- ones), and each distinct text is then typed, hashed and checked once. Every row comes out
-- as:
--   cell_<name>  each cell as read, numbers and dates normalised, that no ledger column below
--                holds as it is (pydantic validates the cells: warehouse/amazon_scan.py);
--   plain        TRUE when the row is in the plain shape whose typed values below are exactly
--                what the Python path would make of it (else the Python path decides the row);
--   copies;
--   the ledger columns that vary by line, typed here (that slot is made from the mapping's one
--   declaration, schemas/amazon.py COLUMNS); the ones every line of the report
--   shares (network, account, status, currency and the NULL ones) are added when the plain
--   lines are staged, not held once per line.
SELECT
    {cells},
    plain,
    copies,
    md5(concat_ws(chr(31), {key_parts})) AS line_id,
    {ledger}
FROM (
    SELECT *, coalesce({plain}, FALSE) AS plain
    FROM (
        SELECT {normalised}, copies
        FROM ({rows})
    )
)
