-- store_time: the server's clock, microseconds since the Unix epoch.
SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
