import type { Queryable } from "../indexer/store/sql.ts";

/** Where a read replica stands: the indexer checkpoint it has replayed, and how far its WAL replay trails. */
export type ReplicaState = {
  /** The indexer checkpoint as the replica sees it (null before the first batch reached it). */
  indexedBlock: bigint | null;
  /**
   * Seconds the replica's WAL replay trails the primary: `now() - pg_last_xact_replay_timestamp()`, or 0 when every
   * WAL record received is replayed (an idle primary sends nothing, and the replay time alone would grow without
   * bound). Null when the database is not a streaming standby (e.g. a copy kept by other means, or the primary).
   */
  replayLagSeconds: number | null;
};

/** One statement, so the checkpoint and the replay position are read at the same moment. */
export async function readReplicaState(db: Queryable, chainId: number): Promise<ReplicaState> {
  const { rows } = await db.query<{ indexed_block: string | null; replay_lag: string | null }>(
    `SELECT (SELECT block_number::text FROM indexer_checkpoint WHERE chain_id = $1) AS indexed_block,
            CASE WHEN NOT pg_is_in_recovery() THEN NULL
                 WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                 ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))
            END::text AS replay_lag`,
    [chainId],
  );
  const row = rows[0]!;
  return {
    indexedBlock: row.indexed_block === null ? null : BigInt(row.indexed_block),
    replayLagSeconds: row.replay_lag === null ? null : Math.round(Number(row.replay_lag)),
  };
}
