-- How many loads of one account are published. Only ever grows (published loads are never
-- deleted): a load that saw N when it read the ledger and sees more when it publishes was
-- overtaken by a concurrent writer of the same account, and is redone (warehouse/load.py).
SELECT count(*) FROM ledger_loads
WHERE published AND network = $network AND account IS NOT DISTINCT FROM $account;
