-- store_checks: settings that decide whether a commit survives a crash.
SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('full_page_writes')
