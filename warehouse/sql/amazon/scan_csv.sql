-- DuckDB's CSV reader over one Fee-Earnings report's data lines, every cell as text in c0..
-- (warehouse/amazon_scan.py fills in the columns; scan.sql reads what this gives).
-- strict_mode makes a quote DuckDB cannot follow an error (the Python reader then decides);
-- null_padding and one spare column make short and long rows visible; nullstr is text no
-- report holds, so an empty cell stays '' and only a missing cell is NULL.
read_csv(
    $path, skip = $skip, header = false, auto_detect = false, delim = $delimiter,
    quote = '"', escape = '"', columns = {columns}, strict_mode = true,
    null_padding = true, nullstr = '\x00passive-null', buffer_size = 4194304
)
