-- (file_name, md5) of every Creators API report this account already took in.
SELECT DISTINCT file_name, md5 FROM amazon_api_reports WHERE account = $account;
