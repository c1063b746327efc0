-- The networks the ledger holds lines of.
SELECT DISTINCT network FROM commissions;
