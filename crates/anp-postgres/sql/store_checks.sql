-- store_checks: settings that decide whether a commit survives a crash, and whether dead row
-- versions of churned jobs are ever removed.
SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('full_page_writes'),
       current_setting('autovacuum')
