-- store_ping: the server's version.
SELECT current_setting('server_version')
