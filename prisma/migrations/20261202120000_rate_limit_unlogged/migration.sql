-- Rate-limit counters need no durability: every request of the versioned API counts itself here, and on a logged
-- table each count was a commit waiting for its WAL flush (with the one client IP of a load test contending for one
-- row, that held the holdings route to a third of a raw query's throughput: 518 against 1,631 req/s, bench:api).
-- Unlogged, a count writes no WAL; after a crash of PostgreSQL the table is empty, so every client starts a fresh
-- minute.
ALTER TABLE rate_limit SET UNLOGGED;
