-- Income per month, network, account and currency, oldest month first (the income_monthly
-- view: earned = approved + paid, net = earned + pending; a reversed line is never income).
SELECT month, network, account, currency, earned, pending, reversed, net, lines
FROM income_monthly
ORDER BY month, currency, network, account;
