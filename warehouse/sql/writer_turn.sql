-- A DuckLake lets two transactions that only insert commit side by side, so two writers
-- inserting the same new keys (ECB fixings, a payment, a downloaded report) would both land.
-- Rewriting one row of _migrations (unchanged) makes such a transaction delete from that table
-- too: of two at once DuckLake commits one and refuses the other ("another transaction has
-- deleted from it"), which publish.transaction then runs again, finding the keys there.
UPDATE _migrations SET applied_at = applied_at
WHERE name = (SELECT min(name) FROM _migrations);
