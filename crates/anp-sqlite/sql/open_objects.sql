-- Opening: what the file already holds (read only, before anything is written).
SELECT type, name FROM sqlite_master
WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY type DESC, name
