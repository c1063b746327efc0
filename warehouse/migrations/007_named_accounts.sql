-- Named accounts (issue 16). The `account` column now holds the account's name from
-- passive.toml, and without passive.toml the one account of each API network is named after
-- the network (`impact`, `awin`, `cj`). Until now an impact.com, Awin or CJ line's account was
-- the login's raw id (Account SID, publisher id), so this migration renames those accounts in
-- every table that holds one, and keeps the old id in `account_aliases`: nothing is re-keyed
-- silently, and "which SID was this?" stays answerable in SQL.
--
-- Which name an old id gets: a network whose lines came from one id (the usual case: one set of
-- PASSIVE_<NETWORK>_* variables) gets the network's name, so the next pull with the same
-- variables continues the same account, cursor and all. When a ledger holds several ids of one
-- network (the variables were changed over time), the one pulled most recently gets the
-- network's name and each other one `<network>-<id>` lower-cased (e.g. `awin-12345`): a
-- passive.toml account of that name continues it. Amazon accounts were always the user's own
-- names and are left as they are.

CREATE TABLE account_aliases (
    network      VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,          -- the account's name in the ledger
    alias        VARCHAR NOT NULL,          -- what the ledger called it before (a SID, an id)
    reason       VARCHAR NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);

INSERT INTO account_aliases
WITH held AS (
    SELECT network, account FROM commission_lines
    UNION SELECT network, account FROM commission_change_rows
    UNION SELECT network, account FROM ingest_runs WHERE account IS NOT NULL
    UNION SELECT network, account FROM ingest_state
    UNION SELECT network, account FROM rejects WHERE account IS NOT NULL
    UNION SELECT network, account FROM payments
    UNION SELECT network, account FROM payment_items
    UNION SELECT network, account FROM payment_changes
    UNION SELECT network, account FROM payout_settings
    UNION SELECT network, account FROM commission_terms
),
last_pull AS (
    SELECT network, account, max(started_at) AS last_started
    FROM ingest_runs
    WHERE account IS NOT NULL
    GROUP BY network, account
),
ranked AS (
    SELECT
        h.network,
        h.account AS alias,
        row_number() OVER (
            PARTITION BY h.network ORDER BY l.last_started DESC NULLS LAST, h.account
        ) AS rank
    FROM held AS h
    LEFT JOIN last_pull AS l ON l.network = h.network AND l.account = h.account
    WHERE h.network IN ('impact', 'awin', 'cj') AND h.account <> h.network
)
SELECT
    network,
    CASE WHEN rank = 1 THEN network ELSE lower(network || '-' || alias) END,
    alias,
    'migration 007: the account was the login''s id; accounts are now named',
    now()
FROM ranked;

UPDATE commission_lines AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE commission_change_rows AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE ingest_runs AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE ingest_state AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE rejects AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE payments AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE payment_items AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE payment_changes AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE payout_settings AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;

UPDATE commission_terms AS t SET account = a.account
FROM account_aliases AS a WHERE t.network = a.network AND t.account = a.alias;
